"""arq on the real Redis: enqueue from the web process, process in a worker, survive outages."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from app.db.engine import create_engine, session_factory
from app.db.models.deliveries import Delivery
from app.main import create_app
from app.settings import Settings
from app.worker import create_worker
from tests.support.database import store_delivery, stored
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.settings import make_settings
from tests.support.tcp import SwitchableProxy
from tests.support.worker import run_worker_until_idle


async def test_delivery_goes_through_redis_to_a_worker(migrated: str, redis_url: str) -> None:
    settings = make_settings(migrated, REDIS_URL=redis_url)
    body, headers = delivery("gitlab", "Push Hook", PUSH, delivery_id="arq-1")
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/gitlab", content=body, headers=headers)
        assert response.status_code == 202
        assert response.json()["status"] == "queued"
        assert (await client.get("/readyz")).json()["checks"] == {"database": "ok", "redis": "ok"}
    [row] = await stored(settings)
    assert row.status == "queued"
    worker = await run_worker_until_idle(settings)
    assert worker.jobs_complete >= 1  # (a cron sweep may run too)
    assert worker.jobs_failed == 0
    [row] = await stored(settings)
    assert (row.status, row.kind, row.attempts) == ("processed", "push", 1)


async def test_concurrent_duplicates_through_redis_run_one_job(
    migrated: str, redis_url: str
) -> None:
    settings = make_settings(migrated, REDIS_URL=redis_url)
    body, headers = delivery("github", "push", PUSH, delivery_id="arq-burst")
    async with running(create_app(settings)) as client:
        responses = await asyncio.gather(
            *(client.post("/webhooks/github", content=body, headers=headers) for _ in range(20))
        )
    assert sorted(r.status_code for r in responses) == [200] * 19 + [202]
    worker = await run_worker_until_idle(settings)
    assert worker.jobs_complete >= 1  # (a cron sweep may run too)
    assert worker.jobs_failed == 0
    [row] = await stored(settings)
    assert (row.status, row.attempts) == ("processed", 1)


async def test_queue_down_stores_answers_202_and_processes_once_back(
    migrated: str, redis_url: str
) -> None:
    real = urlsplit(redis_url)  # SHIPYARD_TEST_REDIS_URL: the proxy stands in front of it
    proxy = SwitchableProxy(real.hostname or "127.0.0.1", real.port or 6379)
    settings = make_settings(
        migrated,
        REDIS_URL=real._replace(netloc=f"127.0.0.1:{proxy.port}").geturl(),
        SHIPYARD_REQUEUE_INTERVAL="0.1",
        SHIPYARD_QUEUE_PAUSE="0.1",
        SHIPYARD_REQUEUE_MIN_AGE="0",
    )
    body, headers = delivery("github", "push", PUSH, delivery_id="while-down")
    app = create_app(settings)
    async with running(app) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
        assert response.status_code == 202
        assert response.json()["status"] == "stored"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {
            "database": "ok",
            "redis": "unreachable: ConnectionError",
        }
        [row] = await stored(settings)
        assert row.status == "received"

        await proxy.up()
        try:
            for _ in range(100):  # the web process's sweeper enqueues it within ~0.1 s
                [row] = await stored(settings)
                if row.status == "queued":
                    break
                await asyncio.sleep(0.05)
            assert row.status == "queued"
        finally:
            await proxy.down()
    await run_worker_until_idle(make_settings(migrated, REDIS_URL=redis_url))
    [row] = await stored(settings)
    assert (row.status, row.kind, row.attempts) == ("processed", "push", 1)


async def _store_without_enqueueing(settings: Settings, delivery_id: str) -> int:
    """What a web process leaves behind when it dies between store and enqueue."""
    body, _headers = delivery("gitea", "push", PUSH, delivery_id=delivery_id)
    engine = create_engine(settings)
    try:
        result = await store_delivery(
            session_factory(engine),
            Delivery(
                provider="gitea",
                delivery_id=delivery_id,
                event="push",
                headers={"content-type": "application/json", "x-gitea-event": "push"},
                body=body,
            ),
        )
    finally:
        await engine.dispose()
    return result.id


async def test_web_start_recovers_a_delivery_stored_but_never_enqueued(
    migrated: str, redis_url: str
) -> None:
    settings = make_settings(migrated, REDIS_URL=redis_url)
    await _store_without_enqueueing(settings, "orphan-web")
    async with running(create_app(settings)):
        [row] = await stored(settings)
        assert row.status == "queued"
    await run_worker_until_idle(settings)
    [row] = await stored(settings)
    assert (row.status, row.attempts) == ("processed", 1)


async def test_worker_start_recovers_a_delivery_stored_but_never_enqueued(
    migrated: str, redis_url: str
) -> None:
    settings = make_settings(migrated, REDIS_URL=redis_url)
    await _store_without_enqueueing(settings, "orphan-worker")
    worker = await run_worker_until_idle(settings)
    assert worker.jobs_complete >= 1  # (a cron sweep may run too)
    assert worker.jobs_failed == 0
    [row] = await stored(settings)
    assert (row.status, row.kind) == ("processed", "push")


async def test_in_process_start_recovers_a_delivery_stored_but_never_enqueued(
    settings: Settings,
) -> None:
    await _store_without_enqueueing(settings, "orphan-inprocess")
    app = create_app(settings)
    async with running(app):
        await app.state.services.queue.join()
    [row] = await stored(settings)
    assert (row.status, row.attempts) == ("processed", 1)


async def test_worker_refuses_to_start_without_redis(settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="needs REDIS_URL"):
        create_worker(settings)


async def test_with_an_intake_queue_only_the_intake_worker_takes_deliveries(
    migrated: str, redis_url: str
) -> None:
    settings = make_settings(migrated, REDIS_URL=redis_url, SHIPYARD_INTAKE_QUEUE="true")
    body, headers = delivery("github", "push", PUSH, delivery_id="arq-intake")
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
        assert response.status_code == 202
    worker = await run_worker_until_idle(settings)  # the main queue: not a delivery's
    [row] = await stored(settings)
    assert (worker.jobs_complete, row.status) == (0, "queued")
    intake = await run_worker_until_idle(settings, intake=True)
    [row] = await stored(settings)
    assert intake.jobs_failed == 0
    assert (row.status, row.attempts) == ("processed", 1)


def test_an_intake_worker_needs_the_intake_queue(migrated: str, redis_url: str) -> None:
    settings = make_settings(migrated, REDIS_URL=redis_url)
    with pytest.raises(RuntimeError, match="SHIPYARD_INTAKE_QUEUE=true"):
        create_worker(settings, intake=True)
