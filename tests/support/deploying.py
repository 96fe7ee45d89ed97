"""Deploying in tests: a host that serves a repository's config and records the deployments,
statuses and comments it is asked for; targets registered on the server as an operator would;
ready releases; and promotions run to their end through the real engine."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.db.engine import SessionFactory
from app.db.models.deployments import DeploymentJob, DeploymentTask
from app.db.models.releases import ReleaseState
from app.deployments import jobs, tasks
from app.deployments.targets.spec import TargetSpec
from app.deployments.targets.store import add_target
from app.environments.promotion import Promotion, promote
from app.environments.requesters import Requester
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from jobqueue.inprocess import InProcessQueue
from providers.vocabulary import Deployment, DeploymentState, Permission, PullRequest, Repo
from tests.support.gate import ConfigHost
from tests.support.releases import add_release, digest_of, sha_of

REPOSITORY = "acme/web"
OPERATOR = Requester.operator("tester")


@dataclass
class Reported:
    """A deployment the host was asked to make, and the statuses it was given, in order."""

    id: int
    environment: str
    sha: str
    production: bool
    transient: bool
    payload: dict[str, Any]
    states: list[DeploymentState] = field(default_factory=list)
    log_urls: list[str | None] = field(default_factory=list)


class DeployHost(ConfigHost):
    """A host for deployments: serves `config` (a .shipyard.yml), answers people's roles from
    `roles`, and records deployments and their statuses; `open_pulls` are the open pull
    requests of any commit."""

    def __init__(self, config: str) -> None:
        super().__init__(textwrap.dedent(config).encode())
        self.deployments: list[Reported] = []
        self.open_pulls: list[PullRequest] = []
        self.roles = {"octocat": Permission.ADMIN}

    async def create_deployment(
        self,
        repo: Repo,
        *,
        ref: str,
        sha: str,
        environment: str,
        description: str | None = None,
        payload: Mapping[str, Any] | None = None,
        production: bool = False,
        transient: bool = False,
        environment_url: str | None = None,
        log_url: str | None = None,
    ) -> Deployment:
        made = Reported(
            id=500 + len(self.deployments),
            environment=environment,
            sha=sha,
            production=production,
            transient=transient,
            payload=dict(payload or {}),
        )
        self.deployments.append(made)
        return Deployment(id=made.id, environment=environment, sha=sha, ref=ref)

    async def set_deployment_status(
        self,
        repo: Repo,
        deployment: Deployment,
        state: DeploymentState,
        *,
        environment_url: str | None = None,
        log_url: str | None = None,
        description: str | None = None,
    ) -> None:
        made = next(d for d in self.deployments if d.id == deployment.id)
        made.states.append(state)
        made.log_urls.append(log_url)

    async def pull_requests_for_commit(self, repo: Repo, sha: str) -> list[PullRequest]:
        return list(self.open_pulls)

    def statuses_of(self, context: str) -> list[str]:
        """The states of the commit statuses set with `context`, in order."""
        return [status.state.value for _, status in self.statuses if status.context == context]


async def register(
    services: Services, name: str, connection: Mapping[str, Any], **more: Any
) -> None:
    """`shipyard targets add` for a target of the repository's."""
    spec = TargetSpec.parse(
        {"name": name, "connection": dict(connection), "repositories": [REPOSITORY], **more}
    )
    await add_target(services.sessions, services.settings, spec, created_by="tests")


def command_target(script: str) -> dict[str, Any]:
    return {"type": "command", "command": script}


async def ready_release(
    sessions: SessionFactory, name: str, *, components: tuple[str, ...] = ("web",)
) -> int:
    """A ready release of acme/web pinning each component by a digest made from its name."""
    return await add_release(
        sessions,
        name,
        repository=REPOSITORY,
        state=ReleaseState.READY,
        commit_sha=sha_of(name),
        components=[
            {
                "name": component,
                "image": f"registry.example.com/acme/{component}",
                "digest": digest_of(f"{component}-{name}"),
                "tag": name,
            }
            for component in components
        ],
    )


@contextlib.asynccontextmanager
async def deploying(settings: Settings, host: DeployHost) -> AsyncIterator[Services]:
    """The process's services over `host`, with jobs run in this process."""
    async with open_services(settings, providers=lambda *_: host) as services:
        assert isinstance(services.queue, InProcessQueue)
        yield services


async def deploy(
    services: Services,
    release_id: int,
    environment: str,
    requester: Requester = OPERATOR,
    **more: Any,
) -> DeploymentJob:
    """Promote and run the job (and everything it starts) to its end in this process."""
    job = await promote(services, Promotion(release_id, environment, requester, via="cli", **more))
    return await settle(services, job.id or 0)


async def settle(services: Services, job_id: int) -> DeploymentJob:
    """Wait until the in-process queue has nothing left; the job as it is then."""
    assert isinstance(services.queue, InProcessQueue)
    await services.queue.join()
    job = await jobs.get_job(services.sessions, job_id)
    assert job is not None
    return job


async def tasks_of(services: Services, job_id: int) -> list[DeploymentTask]:
    loaded = await tasks.load(services.sessions, job_id)
    assert loaded is not None
    return loaded.tasks


def marker_script(directory: Path, fail_on: str | None = None) -> str:
    """A command target's script: it appends `<target> <component> <digest>` to a file in
    `directory` (what ran where), failing on the target `fail_on`."""
    fail = f'[ "$SHIPYARD_TARGET" != "{fail_on}" ] || exit 3\n' if fail_on else ""
    return (
        f'{fail}echo "$SHIPYARD_TARGET ${{SHIPYARD_COMPONENT:-}} ${{SHIPYARD_DIGEST:-}}'
        f'${{SHIPYARD_ROLLBACK:+ rollback}}" >> {directory}/ran\n'
    )
