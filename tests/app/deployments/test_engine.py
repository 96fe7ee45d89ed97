"""The deployment engine end to end in one process: a promotion planned by its strategy, its
tasks run through real command targets, health, rollback, and what the host is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db.models.deployments import JobState, TaskKind, TaskState
from app.environments.promotion import Promotion, cancel, promote, rollback
from app.settings import Settings
from providers.vocabulary import DeploymentState
from tests.support.deploying import (
    OPERATOR,
    DeployHost,
    command_target,
    deploy,
    deploying,
    marker_script,
    ready_release,
    register,
    settle,
    tasks_of,
)
from tests.support.releases import digest_of
from tests.support.settings import make_settings
from tests.support.waiting import eventually


@pytest.fixture
def settings(migrated: str) -> Settings:
    # The command executor's own tests run it in the sandbox; here the scripts write what ran
    # into the test's directory.
    return make_settings(migrated, SHIPYARD_STEP_SANDBOX="none", SHIPYARD_HEARTBEAT="0.2")


def ran(directory: Path) -> list[str]:
    path = directory / "ran"
    return path.read_text().splitlines() if path.exists() else []


CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  staging:
    targets: [s1, s2, s3, s4]
    strategy: {type: rolling, batch_size: 2}
    artifacts: [manifest]
"""


async def test_a_rolling_deploy_runs_every_target_wave_by_wave(
    settings: Settings, tmp_path: Path
) -> None:
    host = DeployHost(CONFIG)
    async with deploying(settings, host) as services:
        for name in ("s1", "s2", "s3", "s4"):
            await register(services, name, command_target(marker_script(tmp_path)))
        release = await ready_release(services.sessions, "v1")
        job = await deploy(services, release, "staging")
        rows = await tasks_of(services, job.id or 0)
    assert job.state == JobState.COMPLETED, job.error
    assert [(t.wave, t.target, t.state) for t in rows] == [
        (0, "s1", TaskState.SUCCEEDED),
        (0, "s2", TaskState.SUCCEEDED),
        (1, "s3", TaskState.SUCCEEDED),
        (1, "s4", TaskState.SUCCEEDED),
    ]
    assert sorted(line.split()[0] for line in ran(tmp_path)) == ["s1", "s2", "s3", "s4"]
    [reported] = host.deployments
    assert reported.states == [
        DeploymentState.QUEUED,
        DeploymentState.IN_PROGRESS,
        DeploymentState.SUCCESS,
    ]
    assert host.statuses_of("shipyard/deploy/staging")[-1] == "success"


async def test_a_failed_target_stops_the_rolling_deploy(settings: Settings, tmp_path: Path) -> None:
    host = DeployHost(CONFIG)
    async with deploying(settings, host) as services:
        for name in ("s1", "s2", "s3", "s4"):
            await register(services, name, command_target(marker_script(tmp_path, "s2")))
        release = await ready_release(services.sessions, "v1")
        job = await deploy(services, release, "staging")
        rows = await tasks_of(services, job.id or 0)
    assert job.state == JobState.FAILED
    assert "deploying failed on s2" in (job.error or "")
    assert [t.state for t in rows] == [
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.CANCELLED,
        TaskState.CANCELLED,
    ]
    assert host.deployments[0].states[-1] == DeploymentState.FAILURE
    assert [t.kind for t in rows] == [TaskKind.DEPLOY] * 4


def canary_config(bad_digest: str) -> str:
    # The health check fails wherever the bad digest runs.
    return f"""
components:
  web: {{image: registry.example.com/acme/web}}
environments:
  production:
    targets: [p1, p2, p3, p4]
    strategy: {{type: canary, canary: 1, then: {{type: rolling, batch_size: 2}}}}
    health: {{command: '[ "$SHIPYARD_DIGEST" != "{bad_digest}" ]', retries: 0}}
    rollback: auto
    production: true
"""


async def test_a_failed_canary_stops_before_the_rest_and_rolls_the_canary_back(
    settings: Settings, tmp_path: Path
) -> None:
    good, bad = digest_of("web-v1"), digest_of("web-v2")
    host = DeployHost(canary_config(bad))
    async with deploying(settings, host) as services:
        for name in ("p1", "p2", "p3", "p4"):
            await register(services, name, command_target(marker_script(tmp_path)))
        v1 = await ready_release(services.sessions, "v1")
        first = await deploy(services, v1, "production")
        assert first.state == JobState.COMPLETED, first.error
        (tmp_path / "ran").unlink()
        v2 = await ready_release(services.sessions, "v2")
        job = await deploy(services, v2, "production")
        rows = await tasks_of(services, job.id or 0)
    assert job.state == JobState.ROLLED_BACK, job.error
    assert "deploying failed on p1" in (job.error or "")
    assert ran(tmp_path) == [f"p1 web {bad}", f"p1 web {good} rollback"]
    rollback = [t for t in rows if t.kind == TaskKind.ROLLBACK]
    assert [(t.target, t.digest, t.replaced_digest, t.state) for t in rollback] == [
        ("p1", good, bad, TaskState.SUCCEEDED)
    ]
    deploy_v2, rollback_deployment = host.deployments[1:]
    assert deploy_v2.production
    assert deploy_v2.states == [
        DeploymentState.QUEUED,
        DeploymentState.IN_PROGRESS,
        DeploymentState.FAILURE,
    ]
    assert rollback_deployment.states == [DeploymentState.IN_PROGRESS, DeploymentState.SUCCESS]
    assert rollback_deployment.sha != deploy_v2.sha


async def test_rollback_manual_stops_and_says_how(settings: Settings, tmp_path: Path) -> None:
    config = canary_config(digest_of("web-v2")).replace("rollback: auto", "rollback: manual")
    host = DeployHost(config)
    async with deploying(settings, host) as services:
        for name in ("p1", "p2", "p3", "p4"):
            await register(services, name, command_target(marker_script(tmp_path)))
        await deploy(services, await ready_release(services.sessions, "v1"), "production")
        job = await deploy(services, await ready_release(services.sessions, "v2"), "production")
    assert job.state == JobState.FAILED
    assert "shipyard rollback --env production --repo github:acme/web" in (job.error or "")


async def test_without_an_earlier_release_nothing_is_rolled_back(
    settings: Settings, tmp_path: Path
) -> None:
    host = DeployHost(canary_config(digest_of("web-v1")))
    async with deploying(settings, host) as services:
        for name in ("p1", "p2", "p3", "p4"):
            await register(services, name, command_target(marker_script(tmp_path)))
        job = await deploy(services, await ready_release(services.sessions, "v1"), "production")
        rows = await tasks_of(services, job.id or 0)
    assert job.state == JobState.FAILED
    assert "no earlier good release" in (job.error or "")
    assert [t.kind for t in rows if t.kind == TaskKind.ROLLBACK] == []


MAX_FAILURES = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  staging:
    targets: [s1, s2, s3, s4]
    strategy: {type: rolling, batch_size: 2, max_failures: 1}
"""


async def test_rolling_respects_max_failures(settings: Settings, tmp_path: Path) -> None:
    host = DeployHost(MAX_FAILURES)
    async with deploying(settings, host) as services:
        for name in ("s1", "s2", "s3", "s4"):
            await register(services, name, command_target(marker_script(tmp_path, "s2")))
        job = await deploy(services, await ready_release(services.sessions, "v1"), "staging")
        rows = await tasks_of(services, job.id or 0)
        assert job.state == JobState.COMPLETED, job.error
        assert [t.state for t in rows].count(TaskState.FAILED) == 1
        # A second failure is one more than it tolerates.
        await register(services, "s5", command_target("exit 1"))
    host2 = DeployHost(MAX_FAILURES.replace("[s1, s2, s3, s4]", "[s1, s2, s3, s5]"))
    async with deploying(settings, host2) as services:
        job = await deploy(services, await ready_release(services.sessions, "v2"), "staging")
    assert job.state == JobState.FAILED
    assert "deploying failed on s2, s5 (max_failures: 1)" in (job.error or "")


BLUE_GREEN = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  production:
    targets: [b1, g1]
    strategy:
      type: blue-green
      blue: [b1]
      green: [g1]
      switch: {command: 'echo "$SHIPYARD_COLOUR" > LIVE/live'}
"""


async def test_blue_green_switches_and_switches_back(settings: Settings, tmp_path: Path) -> None:
    host = DeployHost(BLUE_GREEN.replace("LIVE", str(tmp_path)))
    async with deploying(settings, host) as services:
        for name in ("b1", "g1"):
            await register(services, name, command_target(marker_script(tmp_path)))
        v1 = await deploy(services, await ready_release(services.sessions, "v1"), "production")
        assert (v1.state, v1.live_colour) == (JobState.COMPLETED, "green")
        assert (tmp_path / "live").read_text() == "green\n"
        v2 = await deploy(services, await ready_release(services.sessions, "v2"), "production")
        assert (v2.state, v2.live_colour) == (JobState.COMPLETED, "blue")
        assert (tmp_path / "live").read_text() == "blue\n"
        deployed = ran(tmp_path)
        back = await rollback(services, "github", "acme/web", "production", OPERATOR, via="cli")
        back = await settle(services, back.id or 0)
        rows = await tasks_of(services, back.id or 0)
    assert (back.state, back.live_colour, back.release_id) == (
        JobState.COMPLETED,
        "green",
        v1.release_id,
    )
    assert [t.kind for t in rows] == [TaskKind.SWITCH]  # nothing deployed: only the switch
    assert ran(tmp_path) == deployed
    assert [line.split()[0] for line in deployed] == ["g1", "b1"]
    assert (tmp_path / "live").read_text() == "green\n"


async def test_cancelling_reaches_a_running_task(settings: Settings, tmp_path: Path) -> None:
    host = DeployHost(CONFIG)
    blocker = f"echo started >> {tmp_path}/ran; sleep 600; echo finished >> {tmp_path}/ran"
    async with deploying(settings, host) as services:
        for name in ("s1", "s2", "s3", "s4"):
            await register(services, name, command_target(blocker))
        release = await ready_release(services.sessions, "v1")
        job = await promote(services, Promotion(release, "staging", OPERATOR, via="cli"))
        await eventually(lambda: len(ran(tmp_path)) == 2, within=30)  # the first wave runs
        await cancel(services, job.id or 0, OPERATOR)
        ended = await settle(services, job.id or 0)
        rows = await tasks_of(services, job.id or 0)
    assert ended.state == JobState.CANCELLED
    assert ended.error == "cancelled by cli:tester"
    assert [t.state for t in rows] == [TaskState.CANCELLED] * 4
    assert ran(tmp_path) == ["started", "started"]  # stopped mid-command, the rest never ran
    assert host.deployments[0].states[-1] == DeploymentState.ERROR
