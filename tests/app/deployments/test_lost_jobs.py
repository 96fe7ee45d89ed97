"""Work the queue lost (Redis flushed) is handed back by recovery: a job's advance (by a
worker's recovery at start), and its ready tasks (by a sweep). A real arq worker on the real
Redis runs what recovery enqueues; the host is a GitHub API stand-in on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from app.db.models.deployments import JobState, TaskState
from app.deployments import jobs
from app.deployments.engine import advance_deployment
from app.deployments.recovery import recover_deployments
from app.environments.promotion import Promotion, promote
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from tests.support.deploying import (
    OPERATOR,
    command_target,
    marker_script,
    ready_release,
    register,
    tasks_of,
)
from tests.support.fake_github import FakeGitHub
from tests.support.http import serving
from tests.support.settings import make_settings
from tests.support.worker import run_worker_until_idle

CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  staging:
    targets: [s1, s2]
"""


@dataclass(frozen=True)
class Deploying:
    settings: Settings
    services: Services
    job_id: int


@asynccontextmanager
async def promoted(migrated: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Deploying]:
    """Two command targets of acme/web, a release promoted to staging (its advance on the
    real Redis), the host a GitHub API stand-in on loopback."""
    host = FakeGitHub(files={("acme/web", ".shipyard.yml"): CONFIG.encode()})
    async with serving(host.app()) as api_url:
        settings = make_settings(
            migrated,
            REDIS_URL=redis_url,
            GITHUB_TOKEN="ghp_lost",
            GITHUB_API_URL=api_url,
            SHIPYARD_STEP_SANDBOX="none",
            SHIPYARD_STEP_LEASE="0.3",
        )
        async with open_services(settings) as services:
            for name in ("s1", "s2"):
                await register(services, name, command_target(marker_script(tmp_path)))
            release = await ready_release(services.sessions, "v1")
            job = await promote(services, Promotion(release, "staging", OPERATOR, via="cli"))
            yield Deploying(settings, services, job.id or 0)


async def test_a_flushed_queue_loses_no_deployment(
    migrated: str, redis_url: str, tmp_path: Path
) -> None:
    async with promoted(migrated, redis_url, tmp_path) as deploying:
        services = deploying.services
        redis.Redis.from_url(redis_url).flushdb()  # the advance job is lost
        await asyncio.sleep(0.4)  # a lease passes: the job counts as stalled
        # The worker's recovery at start hands it back, and the worker runs it.
        await run_worker_until_idle(deploying.settings)
        done = await jobs.get_job(services.sessions, deploying.job_id)
        rows = await tasks_of(services, deploying.job_id)
    assert done is not None
    assert done.state == JobState.COMPLETED, done.error
    assert [t.state for t in rows] == [TaskState.SUCCEEDED, TaskState.SUCCEEDED]
    assert sorted(line.split()[0] for line in (tmp_path / "ran").read_text().splitlines()) == [
        "s1",
        "s2",
    ]


async def test_ready_tasks_whose_jobs_were_lost_run_after_recovery(
    migrated: str, redis_url: str, tmp_path: Path
) -> None:
    async with promoted(migrated, redis_url, tmp_path) as deploying:
        services, job_id = deploying.services, deploying.job_id
        queue = redis.Redis.from_url(redis_url)
        queue.flushdb()
        # This process takes the job on: it runs the first task itself and hands the second
        # to the queue, which then loses it.
        await advance_deployment(services, 1, job_id)
        rows = await tasks_of(services, job_id)
        assert [t.state for t in rows] == [TaskState.SUCCEEDED, TaskState.QUEUED]
        queue.flushdb()
        await asyncio.sleep(0.4)
        await recover_deployments(services, False)
        await run_worker_until_idle(deploying.settings)
        done = await jobs.get_job(services.sessions, job_id)
    assert done is not None
    assert done.state == JobState.COMPLETED, done.error
