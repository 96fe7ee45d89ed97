"""Building what an executor is given for one task (`TaskRun`) from the process's services:
the target, the variables, the job's files (their secrets filled in only as they are written),
the server's secret resolver, a workspace of the task's own, and the host clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from app.db.models.deployments import DeploymentArtifact, DeploymentJob
from app.deployments.artifacts.base import Artifact
from app.deployments.artifacts.secrets import fill, secret_references
from app.deployments.executors.base import FileToWrite, TargetInfo, TaskRun, Variables
from app.integrations.ci.service import HubCi
from app.pipelines.step_context import process_env
from app.secrets.definitions import Definition, all_definitions
from app.secrets.masker import Masker
from app.services import Services
from providers.vocabulary import Repo

__all__ = ["build_run", "deployment_workspace", "files_of", "job_workspaces"]


def job_workspaces(services: Services, job_id: int) -> Path:
    """Where a job's tasks work on this worker (removed when the job ends)."""
    return Path(services.settings.data_dir) / "deployments" / str(job_id)


def deployment_workspace(services: Services, job_id: int, task_id: int) -> Path:
    """A directory of the task's own on the worker (command targets run there), reachable by
    the sandbox's step user and by nobody else's work."""
    directory = job_workspaces(services, job_id) / str(task_id)
    return services.sandbox.make_workspace(directory, passages=2)


def files_of(
    services: Services, job: DeploymentJob, rows: Sequence[DeploymentArtifact], masker: Masker
) -> list[FileToWrite]:
    """The job's files as a target receives them: a `secret://NAME` an env-file holds is
    resolved through the secrets the server grants the repository, as the file is written."""
    loaded: dict[str, Definition] | None = None

    async def definitions() -> dict[str, Definition]:
        nonlocal loaded
        if loaded is None:
            loaded = await all_definitions(services.sessions)
        return loaded

    granted = services.secrets.for_repository(
        masker, provider=job.provider, repository=job.repository, definitions=definitions
    )

    def filler(row: DeploymentArtifact, content: bytes) -> Callable[[], Awaitable[bytes]]:
        wanted = secret_references(Artifact(row.name, row.filename, content, row.sha256))

        async def filled() -> bytes:
            if not wanted:
                return content
            return fill(content, {ref: await granted.resolve(ref) for ref in wanted})

        return filled

    files = []
    for row in rows:
        content = row.content.encode("utf-8")
        files.append(FileToWrite(row.filename, content, row.sha256, filler(row, content)))
    return files


def build_run(
    services: Services,
    job: DeploymentJob,
    *,
    task_id: int,
    attempt: int,
    target: TargetInfo,
    variables: Variables,
    files: Sequence[FileToWrite],
    command: str | None,
    timeout: float,
    log: Callable[[str], None],
    masker: Masker,
    default_branch: str,
) -> TaskRun:
    """The TaskRun of one task (or one part of it: a bake or a switch runs several)."""
    assert job.id is not None
    if target.type == "command":  # the only executor that works on this machine
        workspace = deployment_workspace(services, job.id, task_id)
    else:
        workspace = job_workspaces(services, job.id) / str(task_id)
    resolver = services.secrets.for_server(masker)

    async def branch() -> str:
        return default_branch

    return TaskRun(
        target=target,
        job_id=job.id,
        task_id=task_id,
        attempt=attempt,
        environment=job.environment,
        variables=dict(variables),
        files=list(files),
        command=command,
        timeout=timeout,
        log=log,
        resolve=resolver.resolve,
        http=services.http,
        sandbox=lambda directory: services.sandbox.launcher(directory, network=True),
        workspace=workspace,
        process_env=process_env(services),
        provider=lambda name: services.providers(
            name, job.installation_id if name == job.provider else None
        ),
        repo=Repo(job.repository),
        provider_name=job.provider,
        default_branch=branch,
        connections=services.connections,
        ci_systems=HubCi(services.integrations),
    )
