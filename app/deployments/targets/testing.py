"""`shipyard targets test` and `POST /targets/{id}/test`: connect to a target and authenticate,
deploying nothing, through its type's executor and the server's own secrets."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from app.db.models.deployments import Target
from app.deployments.executors.base import CheckResult, DeployFailed, TaskRun
from app.deployments.executors.registry import executor_for
from app.deployments.targets.store import target_info
from app.integrations.ci.service import HubCi
from app.pipelines.step_context import process_env
from app.services import Services
from providers.vocabulary import Repo
from steps.launchers import SandboxUnavailable
from steps.secret_refs import SecretError

__all__ = ["TEST_TIMEOUT", "CannotTest", "test_target"]

TEST_TIMEOUT = 60.0  # seconds for the whole test: connecting, authenticating, answering
_WILDCARDS = frozenset("*?[")
_DEFAULT_HOST = "github"


class CannotTest(ValueError):
    """The target cannot be tested as it is registered; the message says what to add."""


def _literal_repository(row: Target) -> tuple[str | None, str] | None:
    """(host or None, owner/name) of the first of the target's repositories that is one
    repository rather than a glob."""
    for glob in row.repositories:
        host, colon, pattern = glob.partition(":")
        if not colon:
            host, pattern = "", glob
        if not _WILDCARDS & set(pattern):
            return host or None, pattern
    return None


def _repository(row: Target) -> tuple[str, Repo]:
    """The host and repository a test acts as: a workflow target's own, else the first of its
    repositories that names one; CannotTest for a workflow target with neither."""
    connection = row.connection
    literal = _literal_repository(row)
    if row.type == "workflow" and connection.get("repository"):
        host = connection.get("provider") or (literal[0] if literal else None)
        return host or _DEFAULT_HOST, Repo(str(connection["repository"]))
    if literal is not None:
        host = connection.get("provider") or literal[0]
        return host or _DEFAULT_HOST, Repo(literal[1])
    if row.type == "workflow" and not connection.get("integration"):
        raise CannotTest(
            f"workflow target {row.name} dispatches in the deploying repository, and its "
            f"repositories ({', '.join(row.repositories)}) are all globs: there is no one "
            "repository to test it in. Give the target a repository (--repository OWNER/NAME) "
            "or list one repository without wildcards"
        )
    return _DEFAULT_HOST, Repo(row.repositories[0].partition(":")[2] or row.repositories[0])


def _workspace(services: Services, name: str) -> Path:
    """A directory of the test's own under SHIPYARD_DATA_DIR, reachable by the step user."""
    parent = Path(services.settings.data_dir) / "target-tests"
    parent.mkdir(parents=True, exist_ok=True)
    return services.sandbox.make_workspace(Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent)))


# Not a test function (ruff's PT rules judge it by its name): what `shipyard targets test` runs.
async def test_target(
    services: Services,
    row: Target,
    log: Callable[[str], None] | None = None,  # noqa: PT028
) -> CheckResult:
    """Connect to `row`'s target and authenticate without deploying anything: each check
    with whether it worked. `log` receives the executor's log lines, masked; so is every
    detail of the result. CannotTest when the target lacks what a test needs."""
    provider_name, repo = _repository(row)
    masker = services.mask.child()
    secrets = services.secrets.for_server(masker)
    workspace = await asyncio.to_thread(_workspace, services, row.name)

    def log_line(line: str) -> None:
        if log is not None:
            log(masker(line))

    run = TaskRun(
        target=target_info(row),
        job_id=0,
        task_id=0,
        attempt=1,
        environment="",
        variables={"SHIPYARD_TARGET": row.name},
        files=(),
        command=None,
        timeout=TEST_TIMEOUT,
        log=log_line,
        resolve=secrets.resolve,
        http=services.http,
        sandbox=lambda directory: services.sandbox.launcher(directory, network=True),
        workspace=workspace,
        process_env=process_env(services),
        provider=lambda name: services.providers(name, None),
        repo=repo,
        provider_name=provider_name,
        default_branch=lambda: services.providers(provider_name, None).default_branch(repo),
        ci_systems=HubCi(services.integrations),
    )
    try:
        async with asyncio.timeout(TEST_TIMEOUT):
            result = await executor_for(row.type).test(run)
    except TimeoutError:
        result = CheckResult([("test", False, f"no answer within {TEST_TIMEOUT:g}s")])
    except (DeployFailed, SecretError, SandboxUnavailable, OSError, httpx.HTTPError) as error:
        result = CheckResult([("test", False, str(error) or type(error).__name__)])
    finally:
        await asyncio.to_thread(shutil.rmtree, workspace, ignore_errors=True)
    return CheckResult([(masker(what), ok, masker(detail)) for what, ok, detail in result.checks])
