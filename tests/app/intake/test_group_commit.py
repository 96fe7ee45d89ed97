"""Group commit at the intake: requests that arrive together are stored by one statement and
handed to the queue as one job; a 202 still means stored, and a batch that fails is answered
503 with Retry-After, never 202."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from app.db.engine import create_engine
from app.intake.queueing import PROCESS_DELIVERIES
from app.main import create_app
from app.settings import Settings
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.services import POSTGRES_URL
from tests.support.settings import make_settings


def push(number: int) -> tuple[bytes, dict[str, str]]:
    """A push delivery of its own: its body differs from every other's."""
    return delivery(
        "github", "push", {**PUSH, "after": f"{number:040x}"}, delivery_id=f"d-{number}"
    )


def record_jobs(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int | str, ...]]:
    """The ids each delivery job carries, as the intake hands them to the queue."""
    queue = app.state.services.queue
    jobs: list[tuple[int | str, ...]] = []
    enqueue = queue.enqueue

    async def recording(function: str, *args: int | str, **options: Any) -> bool:
        if function == PROCESS_DELIVERIES:
            jobs.append(args)
        return bool(await enqueue(function, *args, **options))

    monkeypatch.setattr(queue, "enqueue", recording)
    return jobs


async def test_500_concurrent_deliveries_with_duplicates_are_each_stored_and_processed_once(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(migrated, SHIPYARD_INTAKE_BATCH_WINDOW_MS="5")
    unique = [push(n) for n in range(400)]
    copies = random.Random(9).choices(unique, k=100)  # 20 %: the same delivery sent again
    requests = unique + copies
    random.Random(10).shuffle(requests)
    app = create_app(settings)
    async with running(app) as client:
        jobs = record_jobs(app, monkeypatch)
        answers = await asyncio.gather(
            *(client.post("/webhooks/github", content=b, headers=h) for b, h in requests)
        )
        await app.state.services.queue.join()
    statuses = Counter((answer.status_code, answer.json()["status"]) for answer in answers)
    assert statuses == {(202, "queued"): 400, (200, "duplicate"): 100}
    rows = await stored(settings)
    assert sorted(row.delivery_id for row in rows) == sorted(f"d-{n}" for n in range(400))
    assert {(row.status, row.attempts) for row in rows} == {("processed", 1)}
    handed = [pk for job in jobs for pk in job]
    assert sorted(handed) == sorted(row.id for row in rows)  # each on the queue once
    assert len(jobs) < len(unique)  # requests that arrived together went as one job


TRIGGER = {
    "sqlite": [
        """CREATE TRIGGER refuse_some BEFORE INSERT ON deliveries
           WHEN NEW.delivery_id LIKE 'refused-%'
           BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"""
    ],
    "postgresql": [
        """CREATE FUNCTION refuse_some() RETURNS trigger AS $$
           BEGIN
             IF NEW.delivery_id LIKE 'refused-%' THEN RAISE EXCEPTION 'the disk is full'; END IF;
             RETURN NEW;
           END $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER refuse_some BEFORE INSERT ON deliveries
           FOR EACH ROW EXECUTE FUNCTION refuse_some()""",
    ],
}


async def install_trigger(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            for statement in TRIGGER[connection.dialect.name]:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_a_batch_the_database_refuses_is_answered_503_and_none_of_it_202(
    migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(migrated, SHIPYARD_INTAKE_BATCH_WINDOW_MS="20")
    await install_trigger(settings)
    good = [push(n) for n in range(30)]
    refused = [
        delivery("github", "push", {**PUSH, "after": f"{n:040x}"}, delivery_id=f"refused-{n}")
        for n in range(1000, 1005)
    ]
    app = create_app(settings)
    async with running(app) as client:
        answers = await asyncio.gather(
            *(client.post("/webhooks/github", content=b, headers=h) for b, h in good + refused)
        )
        await app.state.services.queue.join()
    ids = [h["X-GitHub-Delivery"] for _, h in good + refused]
    kept = {row.delivery_id for row in await stored(settings)}
    for delivery_id, answer in zip(ids, answers, strict=True):
        assert answer.status_code in (202, 503), answer.text
        if answer.status_code == 202:
            assert delivery_id in kept  # a 202 means stored
        else:
            assert delivery_id not in kept
            assert answer.headers["retry-after"] == "5"
            assert "could not be stored" in answer.json()["error"]
    refused_answers = answers[len(good) :]
    assert {answer.status_code for answer in refused_answers} == {503}
    assert not any(delivery_id.startswith("refused-") for delivery_id in kept)
    assert "could not store a batch" in caplog.text


async def test_a_connection_the_server_closed_is_replaced_without_a_503(
    postgres_migrated: str,
) -> None:
    settings = make_settings(postgres_migrated)
    database = postgres_migrated.rsplit("/", 1)[1]
    app = create_app(settings)
    async with running(app) as client:
        first = await client.post("/webhooks/github", content=push(1)[0], headers=push(1)[1])
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
        finally:
            await admin.close()
        second = await client.post("/webhooks/github", content=push(2)[0], headers=push(2)[1])
        await app.state.services.queue.join()
    assert ended >= 1  # the writer's connection among them
    assert [first.status_code, second.status_code] == [202, 202]
    assert {row.delivery_id for row in await stored(settings)} == {"d-1", "d-2"}
