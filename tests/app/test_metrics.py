"""`GET /metrics`, on SQLite and PostgreSQL: deliveries counted by provider, event and outcome
with the intake's latency, what is read when scraped (queue depth), who may scrape (a
`metrics:read` token from anywhere; nobody else, unless the server is open on loopback), and
several processes' numbers added up through PROMETHEUS_MULTIPROC_DIR — two real processes
writing, one of them gone — and `shipyard serve --workers 2` serving the sum from either."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from app.accounts import new_token
from app.cli.serve import share_metrics
from app.main import create_app
from app.metrics import MULTIPROC_VARIABLE
from app.settings import Settings
from tests.support import services
from tests.support.api import bearer, make_token
from tests.support.chatops import migrated_sqlite
from tests.support.deliveries import PUSH, delivery
from tests.support.http import free_port, running
from tests.support.prometheus import Exposition, parse, scrape
from tests.support.settings import make_settings

DELIVERIES = "shipyard_deliveries_total"
PUBLIC = "https://shipyard.example.com"
REDIS_DB = 12  # this module's own Redis database


def grew(before: Exposition, after: Exposition, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def test_a_posted_delivery_is_counted_by_provider_event_and_outcome(
    settings: Settings,
) -> None:
    body, headers = delivery("github", "push", PUSH)
    async with running(create_app(settings)) as client:
        before = await scrape(client)
        first = await client.post("/webhooks/github", content=body, headers=headers)
        again = await client.post("/webhooks/github", content=body, headers=headers)
        forged = await client.post(
            "/webhooks/github",
            content=body,
            headers={**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64},
        )
        unknown = await client.post("/webhooks/nowhere", content=body, headers=headers)
        after = await scrape(client)
    assert (first.status_code, again.status_code) == (202, 200)
    assert (forged.status_code, unknown.status_code) == (401, 404)
    github = {"provider": "github"}
    assert grew(before, after, DELIVERIES, **github, event="push", outcome="queued") == 1
    assert grew(before, after, DELIVERIES, **github, event="push", outcome="duplicate") == 1
    assert grew(before, after, DELIVERIES, **github, event="-", outcome="unauthorized") == 1
    assert not any(labels["provider"] == "nowhere" for labels in after.labels_of(DELIVERIES))
    # The latency of the two answered 2xx, in a histogram.
    assert after.types["shipyard_intake_duration_seconds"] == "histogram"
    assert grew(before, after, "shipyard_intake_duration_seconds_count", **github) == 2
    assert grew(before, after, "shipyard_intake_duration_seconds_sum", **github) > 0
    # Read when scraped: the in-process queue's jobs.
    assert after.types["shipyard_queue_depth"] == "gauge"
    assert after.labels_of("shipyard_queue_depth") == [{"queue": "in-process"}]


async def test_behind_a_public_url_only_a_metrics_read_token_may_scrape(migrated: str) -> None:
    settings = make_settings(migrated, SHIPYARD_PUBLIC_URL=PUBLIC)
    prometheus = await make_token(settings, "prometheus", "metrics-reader")  # no repositories
    admin = await make_token(settings, "root", "admin")
    viewer = await make_token(settings, "looker", "viewer", repositories=["acme/*"])
    async with running(create_app(settings)) as client:
        refused = {
            "no token": await client.get("/metrics"),
            "unknown token": await client.get("/metrics", headers=bearer(new_token())),
            "not a token": await client.get("/metrics", headers=bearer("hunter2")),
            "basic": await client.get("/metrics", headers={"Authorization": "Basic cm9vdDpw"}),
            "empty": await client.get("/metrics", headers={"Authorization": ""}),
        }
        lacking = await client.get("/metrics", headers=bearer(viewer))
        as_prometheus = await scrape(client, bearer(prometheus))
        as_admin = await scrape(client, bearer(admin))
    for why, answer in refused.items():
        assert answer.status_code == 401, (why, answer.text)
        assert answer.json()["error"]["code"] == "unauthorized", why
        assert answer.headers["www-authenticate"] == 'Bearer realm="shipyard"'
    assert lacking.status_code == 403
    assert "metrics:read" in lacking.json()["error"]["message"]
    for exposition in (as_prometheus, as_admin):
        assert exposition.types[DELIVERIES.removesuffix("_total")] == "counter"


async def test_on_loopback_metrics_are_open_unless_a_proxy_or_a_token_says_otherwise(
    settings: Settings,
) -> None:
    assert (settings.host, settings.public_url) == ("127.0.0.1", "http://127.0.0.1:8000")
    async with running(create_app(settings)) as client:
        exposition = await scrape(client)
        proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        wrong = await client.get("/metrics", headers=bearer(new_token()))
    assert "shipyard_pipeline_runs" in exposition.types
    assert proxied.status_code == 401  # a proxy on this host does not make it loopback
    assert wrong.status_code == 401  # a token that is sent is checked


# --- several processes ------------------------------------------------------------------------

_WRITER = """
import sys
from app import metrics
from app.settings import Settings

count, position, linger = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "linger"
def write():
    for _ in range(count):
        metrics.delivery_received("github", "push", "queued")
    metrics.integration_called("vault", "hashicorp-vault", "ok", position)
if linger:  # a live process: it stays until told, and never says it ended
    write()
    print("written", flush=True)
    sys.stdin.readline()
else:  # a process that ends as Shipyard's do
    with metrics.counted_process(Settings(_env_file=None)):
        write()
"""


def _writer(directory: Path, count: int, position: str, linger: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(count), position, "linger" if linger else "end"],
        env={**os.environ, MULTIPROC_VARIABLE: str(directory)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


async def test_two_processes_numbers_are_added_up_and_a_gone_ones_gauges_left_out(
    migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    with _writer(directory, 3, "open", linger=False) as gone:
        gone.communicate(timeout=60)
    assert gone.returncode == 0
    with _writer(directory, 4, "half_open", linger=True) as alive:
        assert alive.stdout is not None
        assert alive.stdout.readline().strip() == "written"
        monkeypatch.setenv(MULTIPROC_VARIABLE, str(directory))
        settings = make_settings(migrated)
        async with running(create_app(settings)) as client:
            exposition = await scrape(client)
        alive.communicate("\n", timeout=60)
    assert exposition.value(DELIVERIES, provider="github", event="push", outcome="queued") == 7
    assert exposition.value("shipyard_integration_calls_total", integration="vault") == 2
    # The breaker's gauge: the live process's half open; the open one's process is gone.
    assert exposition.value("shipyard_integration_breaker_state", integration="vault") == 1
    assert exposition.types["shipyard_queue_depth"] == "gauge"  # read by the scraping process


def test_serving_several_processes_shares_metrics_in_an_emptied_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROC_VARIABLE, "restored after the test")
    monkeypatch.delenv(MULTIPROC_VARIABLE)
    settings = make_settings(f"sqlite:///{tmp_path / 'x.db'}", SHIPYARD_DATA_DIR=str(tmp_path))
    stale = tmp_path / "metrics" / "counter_4242.db"
    stale.parent.mkdir()
    stale.write_bytes(b"an earlier run's numbers")
    directory = share_metrics(settings)
    assert directory == tmp_path.resolve() / "metrics"
    assert os.environ[MULTIPROC_VARIABLE] == str(directory)
    assert not stale.exists()
    # One the operator names (shared with workers started apart) is used as it is.
    kept = tmp_path / "shared" / "counter_7.db"
    kept.parent.mkdir()
    kept.write_bytes(b"a worker's numbers")
    monkeypatch.setenv(MULTIPROC_VARIABLE, str(kept.parent))
    assert share_metrics(make_settings(settings.database_url)) == kept.parent
    assert kept.exists()


def _own_redis() -> str:
    base = services.require_redis().rsplit("/", 1)[0]
    url = f"{base}/{REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    return url


async def test_serve_with_two_workers_answers_the_sum_from_either(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": await migrated_sqlite(tmp_path),
        "REDIS_URL": _own_redis(),
        "SHIPYARD_DATA_DIR": str(tmp_path),
        "SHIPYARD_QUEUE_NAME": "metrics-serve-test",
        "GITHUB_WEBHOOK_SECRET": "github-test-secret",
        "SHIPYARD_ACCESS_LOG": "false",
    }
    env.pop(MULTIPROC_VARIABLE, None)
    log = tmp_path / "serve.log"
    server = _serve(env, log, "--workers", "2", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    try:
        await _started(log, server, processes=2)  # then start-up recovery finds nothing
        for number in range(6):  # each on a connection of its own: either process may take it
            body, headers = delivery("github", "push", {**PUSH, "after": f"{number:040x}"})
            async with httpx.AsyncClient(base_url=url) as client:
                answer = await client.post("/webhooks/github", content=body, headers=headers)
                assert answer.status_code == 202, answer.text
        counted, depths = set(), set()
        for _ in range(10):
            async with httpx.AsyncClient(base_url=url) as client:
                answer = await client.get("/metrics")
            assert answer.status_code == 200, answer.text
            exposition = parse(answer.text)
            counted.add(exposition.value(DELIVERIES, outcome="queued"))
            depths.add(exposition.value("shipyard_queue_depth", queue="metrics-serve-test"))
    finally:
        server.terminate()
        server.wait(30)
    assert counted == {6}
    assert depths == {6}  # a job each on arq's queue in Redis, which no worker takes here
    assert list((tmp_path / "metrics").glob("counter_*.db"))  # where the processes wrote
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()


def _serve(env: dict[str, str], log: Path, *arguments: str) -> subprocess.Popen[bytes]:
    """`shipyard serve` in a process of its own, writing its log to `log`."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "serve", *arguments],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _said(log: Path) -> str:
    return log.read_text(errors="replace")


async def _started(
    log: Path, server: subprocess.Popen[bytes], *, processes: int, within: float = 60.0
) -> None:
    """Until each of the web processes has said it started (bounded)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert server.poll() is None, f"shipyard serve exited:\n{_said(log)}"
        if _said(log).count("Application startup complete") >= processes:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"shipyard serve did not start {processes} processes:\n{_said(log)}")
