"""A worker SIGKILLed mid-deployment loses nothing and repeats nothing blindly: a new worker
finishes the job from its rows. Killed while a task verifies, the deploy is not run again and
the host gets one final status; killed while a task's command runs, it runs again only on an
`--idempotent` target, and ends "interrupted" on a plain one.

The workers are real `shipyard worker` processes on the real Redis; the host is a GitHub API
stand-in on loopback (respx cannot reach into another process)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.db.models.deployments import DeploymentJob, JobState, TaskState
from app.deployments import jobs
from app.environments.promotion import Promotion, promote
from app.settings import Settings
from app.wiring import open_services
from tests.support.deploying import OPERATOR, command_target, ready_release, register, tasks_of
from tests.support.fake_github import FakeGitHub
from tests.support.http import serving
from tests.support.processes import start_worker
from tests.support.settings import make_settings
from tests.support.waiting import eventually

HOLD = "while [ ! -e {dir}/go ]; do sleep 0.05; done"


def config(directory: Path, *, health: bool) -> str:
    check = (
        f"""
    health:
      command: 'echo "$SHIPYARD_TARGET" >> {directory}/verifying; {HOLD.format(dir=directory)}'
      timeout: 120s
      retries: 0"""
        if health
        else ""
    )
    return f"""
components:
  web: {{image: registry.example.com/acme/web}}
environments:
  staging:
    targets: [t1, t2]
    strategy: {{type: rolling, batch_size: 1}}{check}
"""


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@asynccontextmanager
async def workers(env: dict[str, str]) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for worker in started:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(10)


async def job_of(settings: Settings) -> DeploymentJob:
    async with open_services(settings) as services:
        [job] = await jobs.list_jobs(services.sessions)
        return job


async def start_deployment(
    settings: Settings, host_config: str, scripts: dict[str, str], idempotent: bool = False
) -> int:
    """Register the targets, make a release and promote it (the workers take it)."""
    async with open_services(settings) as services:
        for name, script in scripts.items():
            await register(services, name, command_target(script), idempotent=idempotent)
        release = await ready_release(services.sessions, "v1")
        job = await promote(services, Promotion(release, "staging", OPERATOR, via="cli"))
        return job.id or 0


def environment(
    settings: Settings, migrated: str, redis_url: str, api_url: str, data_dir: Path
) -> dict[str, str]:
    return {
        "DATABASE_URL": migrated,
        "REDIS_URL": redis_url,
        "GITHUB_TOKEN": "ghp_kill_token",
        "GITHUB_API_URL": api_url,
        "SHIPYARD_DATA_DIR": str(data_dir),
        "SHIPYARD_STEP_SANDBOX": "none",  # the scripts note what ran outside a workspace
        "SHIPYARD_STEP_LEASE": "1.5",
        "SHIPYARD_HEARTBEAT": "0.2",
        "SHIPYARD_REQUEUE_INTERVAL": "0.3",
    }


async def test_a_job_completes_after_its_worker_is_killed_mid_verification(
    migrated: str, redis_url: str, data_dir: Path, tmp_path: Path
) -> None:
    host = FakeGitHub(files={("acme/web", ".shipyard.yml"): config(tmp_path, health=True).encode()})
    script = f'echo "$SHIPYARD_TARGET" >> {tmp_path}/ran'
    async with serving(host.app()) as api_url:
        settings = make_settings(
            migrated, REDIS_URL=redis_url, GITHUB_TOKEN="ghp_kill_token", GITHUB_API_URL=api_url
        )
        env = environment(settings, migrated, redis_url, api_url, data_dir)
        async with workers(env) as started:
            started.append(start_worker(env))
            job_id = await start_deployment(settings, "", {"t1": script, "t2": script})
            await eventually(lambda: lines(tmp_path / "verifying") == ["t1"], within=60)
            started[0].send_signal(signal.SIGKILL)
            started[0].wait(10)
            (tmp_path / "go").touch()
            started.append(start_worker(env))
            await eventually(
                lambda: (
                    len(host.deployment_statuses()) >= 2
                    and host.deployment_statuses()[-1].json["state"] == "success"
                ),
                within=60,
            )
        job = await job_of(settings)
        async with open_services(settings) as services:
            rows = await tasks_of(services, job_id)
    assert job.state == JobState.COMPLETED, job.error
    assert lines(tmp_path / "ran") == ["t1", "t2"]  # t1's deploy was not run again
    assert lines(tmp_path / "verifying") == ["t1", "t1", "t2"]  # its check was
    assert [(t.target, t.state, t.attempts) for t in rows] == [
        ("t1", TaskState.SUCCEEDED, 2),
        ("t2", TaskState.SUCCEEDED, 1),
    ]
    [made] = host.deployments()
    assert made.json["environment"] == "staging"
    assert [s.json["state"] for s in host.deployment_statuses()] == [
        "queued",
        "in_progress",
        "success",
    ]


@pytest.mark.parametrize("idempotent", [True, False])
async def test_a_task_killed_mid_command_runs_again_only_on_an_idempotent_target(
    migrated: str, redis_url: str, data_dir: Path, tmp_path: Path, idempotent: bool
) -> None:
    host = FakeGitHub(
        files={("acme/web", ".shipyard.yml"): config(tmp_path, health=False).encode()}
    )
    script = (
        f'echo "start $SHIPYARD_TARGET" >> {tmp_path}/ran; {HOLD.format(dir=tmp_path)}; '
        f'echo "end $SHIPYARD_TARGET" >> {tmp_path}/ran'
    )
    async with serving(host.app()) as api_url:
        settings = make_settings(
            migrated, REDIS_URL=redis_url, GITHUB_TOKEN="ghp_kill_token", GITHUB_API_URL=api_url
        )
        env = environment(settings, migrated, redis_url, api_url, data_dir)
        async with workers(env) as started:
            started.append(start_worker(env))
            job_id = await start_deployment(
                settings, "", {"t1": script, "t2": script}, idempotent=idempotent
            )
            await eventually(lambda: lines(tmp_path / "ran") == ["start t1"], within=60)
            started[0].send_signal(signal.SIGKILL)
            started[0].wait(10)
            (tmp_path / "go").touch()
            started.append(start_worker(env))

            def reported() -> bool:  # the final status comes last
                return [s.json["state"] for s in host.deployment_statuses()][-1:] in (
                    ["success"],
                    ["failure"],
                )

            await eventually(reported, within=60)
        job = await job_of(settings)
        async with open_services(settings) as services:
            rows = await tasks_of(services, job_id)
    if idempotent:
        assert job.state == JobState.COMPLETED, job.error
        assert lines(tmp_path / "ran") == ["start t1", "start t1", "end t1", "start t2", "end t2"]
        assert [(t.state, t.attempts) for t in rows] == [
            (TaskState.SUCCEEDED, 2),
            (TaskState.SUCCEEDED, 1),
        ]
        assert [s.json["state"] for s in host.deployment_statuses()] == [
            "queued",
            "in_progress",
            "success",
        ]
    else:
        assert job.state == JobState.FAILED
        assert lines(tmp_path / "ran") == ["start t1"]  # never run again blindly
        assert rows[0].state == TaskState.FAILED
        assert (rows[0].error or "").startswith("interrupted: the worker running it stopped")
        assert rows[1].state == TaskState.CANCELLED
        assert [s.json["state"] for s in host.deployment_statuses()] == [
            "queued",
            "in_progress",
            "failure",
        ]
