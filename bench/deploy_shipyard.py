"""Shipyard's side of bench.deployments: the deployment engine in this process, a promotion timed
from `promote` to the job's end, and what it cost the database.

Jobs run in-process (no REDIS_URL: `InProcessQueue`, 10 at a time), as `shipyard serve` runs
them on its embedded defaults. The Git host is a stand-in behind `open_services(providers=...)`:
it serves the bench's `.shipyard.yml`, says `main` is the default branch, gives everyone the
admin role, and answers deployments and statuses at once (they are recorded, not sent).
Targets are registered through `add_target`, as `shipyard targets add` does; releases are
rows in the ready state, as the releases API leaves them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.db.engine import SessionFactory
from app.db.models.deployments import JobState, TaskState
from app.db.models.releases import Release, ReleaseState
from app.deployments import jobs, tasks
from app.deployments.targets.spec import TargetSpec
from app.deployments.targets.store import add_target
from app.environments.promotion import Promotion, promote
from app.environments.requesters import Requester
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from bench.deploy_overhead import DatabaseWork
from jobqueue.inprocess import InProcessQueue
from providers.not_configured import NotConfiguredProvider
from providers.vocabulary import CommitStatus, Deployment, Permission, PullRequest, Repo

__all__ = [
    "REPOSITORY",
    "BenchHost",
    "Deployed",
    "add_release",
    "bench_settings",
    "completed",
    "deploy",
    "opened",
    "register",
    "repo_config",
]

REPOSITORY = "acme/web"
OPERATOR = Requester.operator("bench")


class BenchHost(NotConfiguredProvider):
    """The Git host: `config` as `.shipyard.yml` at `main`; deployments and statuses counted."""

    def __init__(self, config: str) -> None:
        super().__init__("github", "GitHub stand-in", "nothing")
        self.config = config.encode()
        self.calls: Counter[str] = Counter()

    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        self.calls["read_file"] += 1
        return self.config if path == ".shipyard.yml" else None

    async def default_branch(self, repo: Repo) -> str:
        return "main"

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        return Permission.ADMIN

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        self.calls["set_commit_status"] += 1

    async def create_deployment(self, repo: Repo, **values: Any) -> Deployment:
        self.calls["create_deployment"] += 1
        return Deployment(
            id=self.calls["create_deployment"], environment=values["environment"],
            sha=values["sha"], ref=values["ref"],
        )  # fmt: skip

    async def set_deployment_status(self, *args: Any, **kwargs: Any) -> None:
        self.calls["set_deployment_status"] += 1

    async def pull_requests_for_commit(self, repo: Repo, sha: str) -> list[PullRequest]:
        return []


def repo_config(environments: Mapping[str, dict[str, Any]]) -> str:
    """`.shipyard.yml`: one component, and `environments` (name -> targets, strategy, command)."""
    lines = ["components:", "  web: {image: registry.example.com/acme/web}", "environments:"]
    for name, spec in environments.items():
        lines += [
            f"  {name}:",
            f"    targets: [{', '.join(spec['targets'])}]",
            f"    strategy: {spec['strategy']}",
        ]
        if spec.get("command"):
            lines.append(f"    deploy: {{command: {json.dumps(spec['command'])}}}")
    return "\n".join(lines) + "\n"


def bench_settings(database_url: str, data_dir: Path) -> Settings:
    """Settings for the run, whatever this shell's environment holds: in-process jobs (REDIS_URL
    blank), the bench's data directory, no sandbox (no command runs on this machine)."""
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "SHIPYARD_DATA_DIR": str(data_dir),
        "SHIPYARD_STEP_SANDBOX": "none",
        "SHIPYARD_REPO_ALLOWLIST": "",
        "SHIPYARD_LOG_LEVEL": "WARNING",
        "GITHUB_TOKEN": "",
    }
    return Settings(_env_file=None, **values)


@contextlib.asynccontextmanager
async def opened(settings: Settings, host: BenchHost) -> AsyncIterator[Services]:
    """The process's services over `host`, with jobs run in this process."""
    async with open_services(settings, providers=lambda *_: host) as services:
        if not isinstance(services.queue, InProcessQueue):
            raise RuntimeError("the bench runs jobs in-process: REDIS_URL must be blank")
        yield services


async def register(
    services: Services, name: str, connection: Mapping[str, Any], credential: str | None = None
) -> None:
    """`shipyard targets add` for one target of the bench's repository."""
    data: dict[str, Any] = {"name": name, "connection": dict(connection)}
    data.update(repositories=[REPOSITORY], credential=credential)
    spec = TargetSpec.parse(data)
    await add_target(services.sessions, services.settings, spec, created_by="bench")


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


async def add_release(sessions: SessionFactory, name: str) -> int:
    """A ready release of the repository, pinning `web` by a digest made from its name."""
    release = Release(
        provider="github",
        repository=REPOSITORY,
        name=name,
        version=name.removeprefix("v"),
        state=ReleaseState.READY,
        commit_sha=hashlib.sha1(name.encode()).hexdigest(),  # noqa: S324 (a name, not a secret)
        components=[
            {
                "name": "web",
                "image": "registry.example.com/acme/web",
                "digest": _digest(f"web-{name}"),
                "tag": name,
            }
        ],
        created_by_kind="cli",
        created_by="bench",
    )
    async with sessions() as session:
        session.add(release)
        await session.commit()
        await session.refresh(release)
    assert release.id is not None
    return release.id


@dataclass(frozen=True)
class Deployed:
    """One promotion run to its end: the job's state, its tasks by state, the wall and CPU
    seconds of this process from `promote` to the job's end, and the database work done."""

    job_id: int
    state: str
    error: str | None
    tasks: dict[str, int]
    wall_s: float
    cpu_s: float
    database: dict[str, Any]

    @property
    def succeeded(self) -> int:
        return self.tasks.get(str(TaskState.SUCCEEDED), 0)


async def deploy(
    services: Services, release_id: int, environment: str, work: DatabaseWork
) -> Deployed:
    """Promote the release and wait until the in-process queue has nothing left."""
    assert isinstance(services.queue, InProcessQueue)
    work.reset()
    cpu, started = time.process_time(), time.perf_counter()
    job = await promote(services, Promotion(release_id, environment, OPERATOR, via="cli"))
    await services.queue.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    counted = work.snapshot()
    ended = await jobs.get_job(services.sessions, job.id or 0)
    loaded = await tasks.load(services.sessions, job.id or 0)
    assert ended is not None
    assert loaded is not None
    states = Counter(str(task.state) for task in loaded.tasks)
    return Deployed(
        job_id=job.id or 0,
        state=str(ended.state),
        error=ended.error,
        tasks=dict(states),
        wall_s=wall,
        cpu_s=cpu,
        database=counted,
    )


def completed(deployed: Deployed, expected_tasks: int) -> bool:
    return deployed.state == JobState.COMPLETED and deployed.succeeded == expected_tasks
