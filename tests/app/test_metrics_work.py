"""What `/metrics` says after Shipyard works, on SQLite and PostgreSQL: a pipeline run and its
steps by state (and the queue jobs' durations); deployments and their tasks by state and
strategy, an automatic and a requested rollback; a ChatOps command by name and result, with
the GitHub API calls it made (faked at the transport with respx); a rate limit waited out; an
integration's calls, its health as last checked, and its breaker opening."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
import respx

from app.db.models.deployments import JobState
from app.environments.promotion import rollback
from app.integrations import store
from app.integrations.errors import IntegrationError
from app.main import create_app
from app.pipelines.launch import START_RUN
from app.settings import Settings
from app.wiring import open_services
from providers.vocabulary import Permission, Repo
from tests.support.api import bearer, make_token
from tests.support.chatops import chatops_settings, shipyard
from tests.support.chatops_hosts import chatops_host
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
from tests.support.engine import run_pipeline
from tests.support.http import running
from tests.support.integrations import (
    TOKEN_VARIABLE,
    fake_service,
    nothing_listening,
    use_test_provider,
)
from tests.support.prometheus import Exposition, scrape
from tests.support.releases import digest_of
from tests.support.settings import make_settings

GITHUB_HOST = "GitHub (api.github.com)"


async def scraped(settings: Settings) -> Exposition:
    """/metrics of an app with these settings (open on loopback, as tests' settings are)."""
    async with running(create_app(settings)) as client:
        return await scrape(client)


def grew(before: Exposition, after: Exposition, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def test_a_pipeline_run_counts_its_states_and_its_jobs_durations(
    migrated: str, data_dir: Path
) -> None:
    settings = make_settings(migrated, SHIPYARD_DATA_DIR=str(data_dir))
    text = """
pipelines:
  p:
    on: {manual: true}
    steps:
      - {name: build, type: run_command, config: {command: "echo built"}}
      - {name: never, type: run_command, config: {command: "echo no"}, if: "false"}
"""
    before = await scraped(settings)
    run, steps = await run_pipeline(settings, text)
    after = await scraped(settings)
    assert (run.state, steps["build"].state, steps["never"].state) == (
        "succeeded",
        "succeeded",
        "skipped",
    )
    runs, steps_total = "shipyard_pipeline_runs_total", "shipyard_pipeline_steps_total"
    assert {s: grew(before, after, runs, state=s) for s in ("queued", "running", "succeeded")} == {
        "queued": 1,
        "running": 1,
        "succeeded": 1,
    }
    assert grew(before, after, runs, state="failed") == 0
    assert grew(before, after, steps_total, state="pending") == 2
    assert grew(before, after, steps_total, state="running") == 2  # `if:` is read once claimed
    assert grew(before, after, steps_total, state="succeeded") == 1
    assert grew(before, after, steps_total, state="skipped") == 1
    durations = "shipyard_job_duration_seconds_count"
    assert grew(before, after, durations, job=START_RUN, outcome="ok") == 1
    assert after.types["shipyard_job_duration_seconds"] == "histogram"


CANARY = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  production:
    targets: [p1, p2, p3]
    strategy: {type: canary, canary: 1, then: {type: rolling, batch_size: 2}}
    health: {command: '[ "$SHIPYARD_DIGEST" != "BAD" ]', retries: 0}
    rollback: auto
"""


async def test_deployments_and_tasks_count_by_state_and_strategy_and_rollbacks_by_trigger(
    migrated: str, tmp_path: Path
) -> None:
    settings = make_settings(migrated, SHIPYARD_STEP_SANDBOX="none", SHIPYARD_HEARTBEAT="0.2")
    host = DeployHost(CANARY.replace("BAD", digest_of("web-v2")))
    before = await scraped(settings)
    async with deploying(settings, host) as services:
        for name in ("p1", "p2", "p3"):
            await register(services, name, command_target(marker_script(tmp_path)))
        made = [
            await deploy(services, await ready_release(services.sessions, name), "production")
            for name in ("v0", "v1", "v2")  # v2 fails its health check: back to v1
        ]
        back = await rollback(services, "github", "acme/web", "production", OPERATOR, via="cli")
        made.append(await settle(services, back.id or 0))  # and a person takes it back to v0
        rows = [row for job in made for row in await tasks_of(services, job.id or 0)]
    after = await scraped(settings)
    assert [job.state for job in made] == [
        JobState.COMPLETED,
        JobState.COMPLETED,
        JobState.ROLLED_BACK,
        JobState.COMPLETED,
    ], [job.error for job in made]
    jobs, tasks = "shipyard_deployments_total", "shipyard_deployment_tasks_total"
    canary = {"strategy": "canary"}
    assert grew(before, after, jobs, state="queued", **canary) == 4
    assert grew(before, after, jobs, state="completed", **canary) == 3
    assert grew(before, after, jobs, state="rolling_back", **canary) == 1
    assert grew(before, after, jobs, state="rolled_back", **canary) == 1
    assert grew(before, after, "shipyard_rollbacks_total", trigger="automatic") == 1
    assert grew(before, after, "shipyard_rollbacks_total", trigger="requested") == 1
    ended = Counter(str(row.state) for row in rows)
    for state in ("succeeded", "failed", "cancelled"):
        assert grew(before, after, tasks, state=state, **canary) == ended[state], state
    assert grew(before, after, tasks, state="pending", **canary) == len(rows)
    assert grew(before, after, tasks, state="dispatched", **canary) >= ended["succeeded"]
    assert grew(before, after, tasks, strategy="all-at-once") == 0


async def test_a_chatops_command_and_the_host_calls_it_made_are_counted(migrated: str) -> None:
    settings = chatops_settings(migrated, "github")  # known by a public URL: a token it is
    token = bearer(await make_token(settings, "prometheus", "metrics-reader"))
    config = "environments:\n  staging: {targets: [web-staging]}\n"
    with chatops_host("github", config, roles={"alice": "write", "rita": "read"}) as host:
        async with shipyard(settings, host) as app:
            before, sent = await scrape(app.client, token), len(host.calls)
            await app.command(7, "alice", "/help")
            await app.command(7, "rita", "/deploy staging")
            await app.command(7, "alice", "/depoly staging")
            after = await scrape(app.client, token)
    commands = "shipyard_chatops_commands_total"
    assert grew(before, after, commands, command="help", result="done") == 1
    assert grew(before, after, commands, command="deploy", result="refused") == 1
    assert grew(before, after, commands, command="-", result="refused") == 1  # misspelt
    calls = "shipyard_host_api_calls_total"
    assert grew(before, after, calls, host=GITHUB_HOST) == len(host.calls) - sent > 0
    assert grew(before, after, calls, host=GITHUB_HOST, status_class="2xx") > 0
    received = "shipyard_deliveries_total"
    assert grew(before, after, received, provider="github", event="issue_comment") == 3


@respx.mock(assert_all_mocked=True)
async def test_a_rate_limit_waited_out_is_counted_by_host(
    migrated: str, respx_mock: respx.MockRouter
) -> None:
    settings = make_settings(migrated, GITHUB_TOKEN="ghp_metrics_test_token")
    respx_mock.get("https://api.github.com/repos/acme/web/collaborators/alice/permission").mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after": "0"}, json={"message": "slow down"}),
            httpx.Response(200, json={"permission": "write", "role_name": "write"}),
        ]
    )
    before = await scraped(settings)
    async with open_services(settings) as services:
        client = services.providers("github", None)
        assert await client.get_permission(Repo("acme/web"), "alice") == Permission.WRITE
    after = await scraped(settings)
    calls = "shipyard_host_api_calls_total"
    assert grew(before, after, calls, host=GITHUB_HOST, status_class="4xx") == 1
    assert grew(before, after, calls, host=GITHUB_HOST, status_class="2xx") == 1
    assert grew(before, after, "shipyard_host_rate_limit_waits_total", host=GITHUB_HOST) == 1
    seconds = "shipyard_host_rate_limit_wait_seconds_total"
    assert 0 <= grew(before, after, seconds, host=GITHUB_HOST) <= 1


async def test_integration_calls_health_and_breaker_are_exported(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, "svc-token-for-metrics")
    use_test_provider(monkeypatch)
    settings = make_settings(
        migrated, SHIPYARD_INTEGRATION_BACKOFF="0", SHIPYARD_BREAKER_FAILURES="2"
    )
    calls, health = "shipyard_integration_calls_total", "shipyard_integration_health"
    breaker = "shipyard_integration_breaker_state"
    async with fake_service("svc-token-for-metrics", {"acme/web": ["v1"]}) as service:
        app = create_app(settings)
        async with running(app) as client:
            hub = app.state.services.integrations
            for name, endpoint in (("svc-up", service.url), ("svc-down", nothing_listening())):
                await store.create_integration(
                    hub.sessions,
                    settings,
                    hub.catalogue,
                    name=name,
                    type="registry",
                    provider="test-service",
                    config={"endpoint": endpoint, "retries": 0},
                    credential_ref=f"env://{TOKEN_VARIABLE}",
                )
            before = await scrape(client)
            await hub.test("svc-up")
            for _ in range(3):  # two failures open its breaker; the third is refused at once
                with pytest.raises(IntegrationError):
                    await hub.call("svc-down", lambda c: c.check("connectivity"))
            after = await scrape(client)
    up, down = {"integration": "svc-up"}, {"integration": "svc-down"}
    assert grew(before, after, calls, **up, provider="test-service", outcome="ok") == 3
    assert grew(before, after, calls, **down, outcome="connection_refused") == 2
    assert grew(before, after, calls, **down, outcome="integration_unhealthy") == 1
    assert {s: before.value(health, **up, state=s) for s in ("unknown", "healthy")} == {
        "unknown": 1,
        "healthy": 0,
    }
    assert {s: after.value(health, **up, state=s) for s in ("unknown", "healthy")} == {
        "unknown": 0,
        "healthy": 1,
    }
    assert after.value(breaker, **up) == 0
    assert after.value(breaker, **down) == 2
