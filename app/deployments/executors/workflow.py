"""The workflow deploy target: the host's CI (a GitHub / Gitea / Forgejo workflow, a GitLab
pipeline) dispatched with the release as its inputs, then followed to its end with the polling
the `wait_ci` step uses (`steps.ci.follow_run`).

The inputs are always the same seven (`payload.workflow_inputs`): release, release_id,
environment, target, commit, digests and params (both JSON), so a workflow declares them all;
GitLab gets them as the pipeline's variables. The repository is the connection's, else the
deploying one; the ref the connection's, else that repository's default branch. The run must
succeed within the task's timeout; a failed or cancelled run fails the task with its URL.

A connection with `integration` starts the build on that CI integration instead (Jenkins: the
job named by `workflow`, the seven inputs its parameters; a host's CI: in the connection's
repository, else the integration's), followed with `steps.ci.follow_ci_run`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import ClassVar, Protocol, runtime_checkable

from app.deployments.executors.base import (
    CheckResult,
    DeployFailed,
    NotSupported,
    TaskRun,
    Variables,
)
from app.deployments.executors.payload import deploy_payload, workflow_inputs
from app.deployments.targets.spec import WorkflowConnection
from providers.base import Provider
from providers.errors import ProviderError
from providers.vocabulary import Repo, WorkflowRun
from steps.ci import (
    CiFailed,
    Clock,
    Sleep,
    check_succeeded,
    follow_ci_run,
    follow_run,
    real_clock,
    real_sleep,
)
from steps.integrations import CiSystems, CiTrigger, IntegrationFailed

__all__ = ["POLL_INTERVAL", "IntegrationCheck", "WorkflowExecutor", "executor", "workflow_paths"]

POLL_INTERVAL = 10.0  # seconds between two reads of the run, as the CI steps' default


@runtime_checkable
class IntegrationCheck(Protocol):
    """CI integrations that can also be tested (the server's): a short message, or
    IntegrationFailed naming the check that failed."""

    async def check(self, integration: str) -> str: ...


class WorkflowExecutor:
    """Dispatch the workflow with the release's inputs; wait for the run to succeed."""

    type_name: ClassVar[str] = "workflow"

    def __init__(
        self,
        *,
        poll_interval: float = POLL_INTERVAL,
        sleep: Sleep = real_sleep,
        clock: Clock = real_clock,
    ) -> None:
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._clock = clock

    async def deploy(self, run: TaskRun) -> None:
        connection = _connection(run)
        inputs = workflow_inputs(deploy_payload(run))
        if connection.integration is not None:
            await self._deploy_on(run, connection, connection.integration, inputs)
            return
        repo = _repo(run, connection)
        if run.dry_run:
            at = connection.ref or "its default branch"
            run.log(f"dry run: would dispatch {connection.workflow} on {repo.full_name} at {at}")
            run.log(f"dry run: with the inputs {inputs}")
            return
        provider = run.provider(_provider_name(run, connection))
        ref = await _ref(run, connection, provider, repo)
        try:
            started = await provider.trigger_workflow(repo, connection.workflow, ref, inputs)
        except ProviderError as error:
            raise DeployFailed(
                f"could not dispatch {connection.workflow} on {repo.full_name} at {ref}: {error}"
            ) from None
        where = f" {started.url}" if started.url else ""
        run.log(f"dispatched {connection.workflow} at {ref}: CI run {started.id}{where}")
        await self._succeeded(
            run,
            follow_run(
                provider,
                repo,
                started.id,
                log=run.log,
                deadline=self._clock() + run.timeout,
                poll_interval=self._poll_interval,
                sleep=self._sleep,
                clock=self._clock,
            ),
        )

    async def _deploy_on(
        self,
        run: TaskRun,
        connection: WorkflowConnection,
        integration: str,
        inputs: dict[str, str],
    ) -> None:
        what = f"{connection.workflow} on {integration}"
        if run.dry_run:
            run.log(f"dry run: would start {what}")
            run.log(f"dry run: with the inputs {inputs}")
            return
        ci = _ci_systems(run, integration)
        request = CiTrigger(
            job=connection.workflow,
            ref=connection.ref,
            inputs=inputs,
            repository=connection.repository,
        )
        try:
            started = await ci.trigger(integration, request)
        except IntegrationFailed as error:
            raise DeployFailed(f"could not start {what}: {error}") from None
        where = f" {started.url}" if started.url else ""
        run.log(f"started {what}: CI run {started.id}{where}")
        await self._succeeded(
            run,
            follow_ci_run(
                ci,
                integration,
                started.id,
                log=run.log,
                deadline=self._clock() + run.timeout,
                poll_interval=self._poll_interval,
                sleep=self._sleep,
                clock=self._clock,
            ),
        )

    async def _succeeded(self, run: TaskRun, following: Awaitable[WorkflowRun]) -> None:
        """Wait for the CI run `following` follows; DeployFailed unless it succeeded."""
        try:
            finished = await following
            check_succeeded(finished)
        except CiFailed as failed:
            raise DeployFailed(str(failed)) from None
        run.log(f"CI run {finished.id} succeeded: {finished.url or '(the host gave no URL)'}")

    async def run_command(self, run: TaskRun, command: str, variables: Variables) -> int:
        raise NotSupported(
            f"target {run.target.name} is a workflow: it runs no commands (use an http "
            "health check, or an ssh or command target)"
        )

    async def test(self, run: TaskRun) -> CheckResult:
        """The host reads the repository (its default branch), and the workflow file is
        there at the ref the deploy would use."""
        connection = _connection(run)
        if connection.integration is not None:
            return CheckResult([await _check_integration(run, connection.integration)])
        repo = _repo(run, connection)
        provider = run.provider(_provider_name(run, connection))
        try:
            default = await provider.default_branch(repo)
        except ProviderError as error:
            return CheckResult([("repository", False, f"cannot read {repo.full_name}: {error}")])
        ref = connection.ref or default
        checks = [("repository", True, f"{provider.name} reads {repo.full_name}")]
        checks.append(await _workflow_file(provider, repo, connection.workflow, ref))
        return CheckResult(checks)


def workflow_paths(provider: str, workflow: str) -> list[str]:
    """Where a host reads `workflow` from, in its order (GitLab: its one pipeline file)."""
    if provider == "gitlab":
        return [".gitlab-ci.yml"]
    own = {"gitea": [".gitea/workflows"], "forgejo": [".forgejo/workflows"]}.get(provider, [])
    return [f"{folder}/{workflow}" for folder in [*own, ".github/workflows"]]


async def _workflow_file(
    provider: Provider, repo: Repo, workflow: str, ref: str
) -> tuple[str, bool, str]:
    if workflow.isdigit() and provider.name != "gitlab":
        return ("workflow", True, f"given by its id ({workflow}): not looked for as a file")
    paths = workflow_paths(provider.name, workflow)
    for path in paths:
        try:
            found = await provider.read_file(repo, path, ref)
        except ProviderError as error:
            return ("workflow", False, f"cannot read {path} at {ref}: {error}")
        if found is not None:
            return ("workflow", True, f"{path} is there at {ref}")
    return ("workflow", False, f"none of {', '.join(paths)} is there at {ref}")


async def _ref(run: TaskRun, connection: WorkflowConnection, provider: Provider, repo: Repo) -> str:
    if connection.ref:
        return connection.ref
    deploying = repo == run.repo and _provider_name(run, connection) == run.provider_name
    try:
        if deploying:
            return await run.default_branch()
        return await provider.default_branch(repo)
    except ProviderError as error:
        raise DeployFailed(f"cannot read {repo.full_name}'s default branch: {error}") from None


def _ci_systems(run: TaskRun, integration: str) -> CiSystems:
    if run.ci_systems is None:
        raise DeployFailed(f"integration {integration}: CI integrations are not available here")
    return run.ci_systems


async def _check_integration(run: TaskRun, integration: str) -> tuple[str, bool, str]:
    """The integration's own test (connectivity, authentication, functionality)."""
    if not isinstance(run.ci_systems, IntegrationCheck):
        return ("integration", False, f"integration {integration} cannot be tested here")
    try:
        return ("integration", True, await run.ci_systems.check(integration))
    except IntegrationFailed as error:
        return ("integration", False, str(error))


def _repo(run: TaskRun, connection: WorkflowConnection) -> Repo:
    return Repo(connection.repository) if connection.repository else run.repo


def _provider_name(run: TaskRun, connection: WorkflowConnection) -> str:
    return connection.provider or run.provider_name


def _connection(run: TaskRun) -> WorkflowConnection:
    connection = run.target.connection
    if not isinstance(connection, WorkflowConnection):
        raise DeployFailed(
            f"target {run.target.name} is a {connection.type} target, not a workflow"
        )
    return connection


executor = WorkflowExecutor()
