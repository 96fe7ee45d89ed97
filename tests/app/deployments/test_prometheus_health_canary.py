"""A canary judged by Prometheus, end to end: a real Prometheus scrapes the test's own
`app_error_ratio` gauge (one series per release), and the environment's `prometheus` health
check asks it through the hub while the canary bakes — passing while the ratio is low, failing
(and rolling the canary back) once it is high."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge

from app.db.models.deployments import JobState, TaskKind, TaskState
from app.deployments.task_logs import logs_of
from app.environments.promotion import Promotion, promote
from app.integrations import store
from app.services import Services
from app.settings import Settings
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
from tests.support.prometheus_server import (
    PrometheusServer,
    exporting,
    own_prometheus,
    use_prometheus_provider,
    values_of,
)
from tests.support.releases import digest_of
from tests.support.settings import make_settings
from tests.support.waiting import until

CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  production:
    targets: [p1, p2]
    strategy: {type: canary, canary: 1, bake: BAKE}
    health:
      prometheus:
        integration: prom
        query: 'app_error_ratio{version="{{ release.name }}"}'
        threshold: 0.05
        interval: 0.2s
      retries: 0
    rollback: auto
    production: true
"""


def config(bake: str) -> str:
    return CONFIG.replace("BAKE", bake)


@pytest.fixture
def ratio() -> Iterator[tuple[Gauge, str]]:
    """`app_error_ratio` by version, exported on a loopback port: (the gauge, the target)."""
    registry = CollectorRegistry()
    gauge = Gauge("app_error_ratio", "Errors per request", ["version"], registry=registry)
    with exporting(registry) as target:
        yield gauge, target


@pytest.fixture
def prometheus(tmp_path: Path, ratio: tuple[Gauge, str]) -> Iterator[PrometheusServer]:
    with own_prometheus(tmp_path / "prometheus", [ratio[1]]) as server:
        yield server


@pytest.fixture
def settings(migrated: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    use_prometheus_provider(monkeypatch)
    return make_settings(migrated, SHIPYARD_STEP_SANDBOX="none", SHIPYARD_HEARTBEAT="0.2")


async def _set_up(services: Services, prometheus: PrometheusServer, directory: Path) -> None:
    """The targets p1 and p2, and the `prom` integration."""
    for name in ("p1", "p2"):
        await register(services, name, command_target(marker_script(directory)))
    await store.create_integration(
        services.sessions,
        services.settings,
        services.integrations.catalogue,
        name="prom",
        type="metrics",
        provider="prometheus",
        config={"endpoint": prometheus.url},
        repositories=["acme/*"],  # the deploying repository's config names it
    )


def ran(directory: Path) -> list[str]:
    path = directory / "ran"
    return path.read_text().splitlines() if path.exists() else []


async def test_a_low_error_ratio_lets_the_canary_through(
    settings: Settings,
    prometheus: PrometheusServer,
    ratio: tuple[Gauge, str],
    tmp_path: Path,
) -> None:
    ratio[0].labels(version="v1").set(0.01)
    await values_of(prometheus, 'app_error_ratio{version="v1"}', lambda v: v == [0.01])
    async with deploying(settings, DeployHost(config("1s"))) as services:
        await _set_up(services, prometheus, tmp_path)
        v1 = await ready_release(services.sessions, "v1")
        job = await deploy(services, v1, "production")
        rows = await tasks_of(services, job.id or 0)
        logs = await logs_of(services.sessions, job.id or 0)
    assert job.state == JobState.COMPLETED, job.error
    assert [(t.kind, t.target or t.targets, t.state) for t in rows] == [
        (TaskKind.DEPLOY, "p1", TaskState.SUCCEEDED),
        (TaskKind.BAKE, ["p1"], TaskState.SUCCEEDED),
        (TaskKind.DEPLOY, "p2", TaskState.SUCCEEDED),
    ]
    canary, baked = (logs[t.id or 0] for t in rows[:2])
    assert "health p1: try 1/1 passed: prometheus 0.01 <= 0.05" in canary
    queries = [line for line in baked.splitlines() if "bake p1: query " in line]
    assert len(queries) >= 2  # one at the bake's start, one at its end
    assert all(line.endswith("passed: prometheus 0.01 <= 0.05") for line in queries)
    assert [line.split()[0] for line in ran(tmp_path)] == ["p1", "p2"]


async def test_a_high_error_ratio_in_the_bake_rolls_the_canary_back(
    settings: Settings,
    prometheus: PrometheusServer,
    ratio: tuple[Gauge, str],
    tmp_path: Path,
) -> None:
    gauge, target = ratio
    gauge.labels(version="v1").set(0.01)
    gauge.labels(version="v2").set(0.01)
    await values_of(prometheus, "app_error_ratio", lambda v: v == [0.01, 0.01])
    async with deploying(settings, DeployHost(config("1s"))) as services:
        await _set_up(services, prometheus, tmp_path)
        v1 = await ready_release(services.sessions, "v1")
        first = await deploy(services, v1, "production")
        assert first.state == JobState.COMPLETED, first.error
        v2 = await ready_release(services.sessions, "v2")
    (tmp_path / "ran").unlink()

    async with deploying(settings, DeployHost(config("30s"))) as services:
        job = await promote(services, Promotion(v2, "production", OPERATOR, via="cli"))

        async def bake_log() -> str:
            rows = await tasks_of(services, job.id or 0)
            logs = await logs_of(services.sessions, job.id or 0)
            return next((logs[t.id or 0] for t in rows if t.kind == TaskKind.BAKE), "")

        # The canary bakes, its first queries passing; then the canary's errors rise.
        baking = await until(bake_log, lambda log: "passed: prometheus 0.01 <= 0.05" in log)
        assert "bake p1: query 1 " in baking
        gauge.labels(version="v2").set(0.9)
        ended = await settle(services, job.id or 0)
        rows = await tasks_of(services, job.id or 0)

    assert ended.state == JobState.ROLLED_BACK, ended.error
    breach = f'app_error_ratio{{instance="{target}",job="app",version="v2"}} is 0.9, not <= 0.05'
    assert "the bake failed: p1: the bake failed in query " in (ended.error or "")
    assert (ended.error or "").endswith(f"of 30 s): prometheus: {breach}")
    good, bad = digest_of("web-v1"), digest_of("web-v2")
    assert ran(tmp_path) == [f"p1 web {bad}", f"p1 web {good} rollback"]  # p2 never got v2
    assert [(t.kind, t.target, t.state) for t in rows if t.kind != TaskKind.BAKE] == [
        (TaskKind.DEPLOY, "p1", TaskState.SUCCEEDED),
        (TaskKind.DEPLOY, "p2", TaskState.CANCELLED),
        (TaskKind.ROLLBACK, "p1", TaskState.SUCCEEDED),
    ]
