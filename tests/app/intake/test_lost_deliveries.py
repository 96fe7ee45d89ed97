"""Deliveries whose jobs the queue lost — a `FLUSHALL`, a Redis restarted without persistence,
a database that failed mid-route — are all processed after the sweep, none twice."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app.main import create_app
from app.routing import EventRouter, Outcome, Routed, Router
from app.services import Services
from app.settings import Settings
from app.work.recovery import sweep
from providers.events import EventKind
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.processes import start_worker
from tests.support.redis_server import RedisServer, own_redis
from tests.support.services import POSTGRES_URL
from tests.support.settings import SECRETS, make_settings


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with own_redis(tmp_path) as server:
        yield server


def pushes(count: int, first: int = 0) -> list[tuple[bytes, dict[str, str]]]:
    return [
        delivery("github", "push", {**PUSH, "after": f"{n:040x}"}, delivery_id=f"lost-{n}")
        for n in range(first, first + count)
    ]


async def send(settings: Settings, count: int, first: int = 0) -> None:
    async with running(create_app(settings)) as client:
        for body, headers in pushes(count, first):
            answer = await client.post("/webhooks/github", content=body, headers=headers)
            assert (answer.status_code, answer.json()["status"]) == (202, "queued")


async def until_processed(settings: Settings, count: int, within: float = 60.0) -> list[Any]:
    """The deliveries once all `count` are processed; fail after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        rows = await stored(settings)
        if len(rows) == count and {row.status for row in rows} == {"processed"}:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"not processed in {within} s: {await stored(settings)}")


@pytest.mark.parametrize("loss", ["FLUSHALL", "restart without persistence"])
async def test_deliveries_whose_jobs_were_lost_are_processed_once_by_the_running_worker(
    migrated: str, redis_server: RedisServer, loss: str
) -> None:
    env = {
        "DATABASE_URL": migrated,
        "REDIS_URL": redis_server.url,
        **SECRETS,
        "SHIPYARD_REQUEUE_INTERVAL": "0.2",
        # The worker may never see an error (its client reconnects by itself): Redis having
        # forgotten what it held puts everything unfinished back at once, whatever the lease.
        "SHIPYARD_DELIVERY_LEASE": "300",
        "SHIPYARD_REDIS_RETRY_MAX": "0.2",
    }
    settings = make_settings(migrated, REDIS_URL=redis_server.url)
    worker = start_worker(env)
    try:
        await send(settings, 1)
        await until_processed(settings, 1)  # the worker is up and taking jobs
        worker.send_signal(signal.SIGSTOP)  # it takes nothing while the jobs are lost
        await send(settings, 6, first=1)
        if loss == "FLUSHALL":
            redis_server.client().flushall()
        else:
            redis_server.stop()
            redis_server.wait_port_free()
            redis_server.start()
        assert {row.status for row in (await stored(settings))[1:]} == {"queued"}
        worker.send_signal(signal.SIGCONT)
        rows = await until_processed(settings, 7)
        assert worker.poll() is None  # still running: it outlived the restart
    finally:
        worker.send_signal(signal.SIGCONT)
        worker.terminate()
        worker.wait(10)
    assert {row.attempts for row in rows} == {1}  # none processed twice


class TerminatingHandler:
    """A handler that, on its first call, has PostgreSQL end every connection to the test's
    database — the worker's too — before the delivery's outcome is recorded."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.calls = 0
        self.router: Router[Services] = Router("probe")
        self.router.register(EventKind.PUSH)(self.on_push)

    async def on_push(self, _services: Services, _routed: Routed) -> Outcome:
        self.calls += 1
        if self.calls == 1:
            admin = await asyncpg.connect(POSTGRES_URL)
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    self.database,
                )
            finally:
                await admin.close()
        return {"call": self.calls}


async def test_a_database_backend_terminated_mid_route_costs_no_delivery(
    postgres_migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        postgres_migrated, SHIPYARD_DELIVERY_RETRY_DELAY="0", SHIPYARD_DELIVERY_LEASE="0.05"
    )
    handler = TerminatingHandler(postgres_migrated.rsplit("/", 1)[1])

    def router() -> EventRouter[Services]:
        return EventRouter(handler.router)

    monkeypatch.setattr("app.wiring.event_router", router)
    app = create_app(settings)
    async with running(app) as client:
        for body, headers in pushes(3):
            await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
        for _ in range(20):  # a delivery whose record was lost with the connection
            if {row.status for row in await stored(settings)} == {"processed"}:
                break
            await asyncio.sleep(0.06)
            await sweep(app.state.services)
            await app.state.services.queue.join()
    rows = await stored(settings)
    assert [(row.delivery_id, row.status) for row in rows] == [
        (f"lost-{n}", "processed") for n in range(3)
    ]
    assert all((row.outcome or {}).get("probe") for row in rows)
    assert handler.calls >= 3
