"""The health monitor, on SQLite and PostgreSQL: each integration's checks scheduled in the
database; two sweeps claiming at once never both get a check; a due check runs as a queue job
and stores the health; a check does not go through an open breaker; a check the queue could not
take is due again; the app's start-up and a real arq worker's run the due checks; the migration
schedules the integrations it makes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.schema import MIGRATIONS_DIR
from app.features import JOBS, RECOVERY
from app.integrations import store
from app.integrations.model import Integration
from app.integrations.monitor import (
    CHECK_INTEGRATION,
    check_integration,
    check_intervals,
    claim_due_checks,
    schedule_checks,
    schedule_due_checks,
)
from app.main import create_app
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from jobqueue.base import QueueUnavailable
from jobqueue.inprocess import InProcessQueue
from tests.support.commands import wait_until
from tests.support.http import running
from tests.support.integrations import (
    TOKEN_VARIABLE,
    FakeService,
    fake_service,
    use_test_provider,
    with_test_provider,
)
from tests.support.services import require_redis
from tests.support.settings import make_settings
from tests.support.worker import run_worker_until_idle

TOKEN = "svc-token-9a8b7c6d-never-stored"
LEVELS = ("authentication", "connectivity", "functionality")
START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def settings(migrated: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    use_test_provider(monkeypatch)
    return make_settings(
        migrated, SHIPYARD_REQUEUE_INTERVAL="3600", SHIPYARD_INTEGRATION_BACKOFF="0"
    )


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    async with fake_service(TOKEN, {"acme/web": ["v1"]}) as service:
        yield service


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def register(
    sessions: SessionFactory, settings: Settings, name: str, endpoint: str
) -> Integration:
    return await store.create_integration(
        sessions,
        settings,
        with_test_provider(),
        name=name,
        type="registry",
        provider="test-service",
        config={"endpoint": endpoint, "retries": 0},
        credential_ref=f"env://{TOKEN_VARIABLE}",
    )


class DownQueue:
    """A queue that cannot take a job (Redis is down)."""

    async def enqueue(
        self, function: str, *args: int | str, job_id: str, defer: float = 0.0
    ) -> bool:
        raise QueueUnavailable("redis is down")

    async def ping(self) -> None:
        raise QueueUnavailable("redis is down")

    async def close(self) -> None:
        return None


def test_the_monitor_is_a_feature_of_every_sweep() -> None:
    assert schedule_due_checks in RECOVERY
    assert JOBS[CHECK_INTEGRATION] is check_integration


async def test_two_sweeps_at_once_never_claim_the_same_check(settings: Settings) -> None:
    intervals = check_intervals(settings)
    async with database(settings) as first, database(settings) as second:
        made = [await register(first, settings, f"svc-{n}", "http://127.0.0.1:9") for n in range(8)]
        for integration in made:
            await schedule_checks(first, integration.id, at=START)
        every = {(i.id, level) for i in made for level in LEVELS}

        for round_ in range(4):  # each round after every interval has passed: all are due
            now = START + timedelta(seconds=1000 * round_)
            one, other = await asyncio.gather(
                claim_due_checks(first, intervals, now=now),
                claim_due_checks(second, intervals, now=now),
            )
            assert not set(one) & set(other), round_
            assert set(one) | set(other) == every, round_
            assert len(one) + len(other) == len(every), round_
            assert await claim_due_checks(second, intervals, now=now) == []

        later = START + timedelta(seconds=3000 + 61)  # past the connectivity interval only
        due = await claim_due_checks(first, intervals, now=later)
        assert due == sorted((i.id, "connectivity") for i in made)


async def test_a_due_check_runs_and_stores_the_health(
    settings: Settings, service: FakeService
) -> None:
    async with open_services(settings) as services:
        made = await register(services.sessions, settings, "svc", service.url)  # not scheduled
        assert await schedule_due_checks(services, False) == 3
        assert isinstance(services.queue, InProcessQueue)
        await services.queue.join()

        checked = await store.get_integration(services.sessions, made.id)
        assert checked.health == "healthy"
        assert checked.health_checked_at is not None
        assert set(checked.checks) == set(LEVELS)
        assert checked.checks["authentication"]["message"] == "signed in as shipyard-bot"
        assert all(check["success"] for check in checked.checks.values())
        assert sorted(seen.path for seen in service.seen) == ["/ping", "/repositories", "/whoami"]
        assert await schedule_due_checks(services, False) == 0  # not due again yet


async def test_the_monitor_does_not_call_through_an_open_breaker(
    settings: Settings, service: FakeService
) -> None:
    async with open_services(settings) as services:
        made = await register(services.sessions, settings, "svc", service.url)
        breakers = services.integrations.breakers
        for _ in range(breakers.policy.failure_threshold):
            breakers.record("svc", ok=False)
        assert breakers.state("svc").position == "open"

        await check_integration(services, 1, made.id, "connectivity")

        checked = await store.get_integration(services.sessions, made.id)
        assert checked.health == "unhealthy"
        assert checked.checks["connectivity"]["errorCode"] == "INTEGRATION_UNHEALTHY"
        assert service.seen == []


async def test_a_check_the_queue_could_not_take_is_due_again(
    settings: Settings, service: FakeService
) -> None:
    async with open_services(settings) as services:
        made = await register(services.sessions, settings, "svc", service.url)
        down = dataclasses.replace(services, queue=DownQueue())
        assert await schedule_due_checks(down, False) == 0
        intervals = check_intervals(settings)
        again = await claim_due_checks(services.sessions, intervals)
        assert again == [(made.id, level) for level in LEVELS]


async def test_a_check_of_what_is_gone_does_nothing(
    settings: Settings, service: FakeService
) -> None:
    async with open_services(settings) as services:
        made = await register(services.sessions, settings, "svc", service.url)
        await check_integration(services, 1, made.id, "sideways")
        await store.delete_integration(services.sessions, made.id)
        await check_integration(services, 1, made.id, "connectivity")
        assert service.seen == []


async def test_the_apps_start_runs_the_due_checks(settings: Settings, service: FakeService) -> None:
    async with database(settings) as sessions:
        made = await register(sessions, settings, "svc", service.url)
        await schedule_checks(sessions, made.id)

    app = create_app(settings)
    async with running(app):
        services: Services = app.state.services

        async def checked() -> bool:
            found = await store.get_integration(services.sessions, made.id)
            return set(found.checks) == set(LEVELS)

        await wait_until(checked, "the start-up sweep checking every level")
        found = await store.get_integration(services.sessions, made.id)
        assert found.health == "healthy"


@pytest.fixture
def own_redis() -> Iterator[str]:
    """A Redis database of this module's own (12), emptied before and after."""
    url = urlsplit(require_redis())._replace(path="/12").geturl()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


async def test_a_workers_start_runs_the_due_checks(
    settings: Settings, service: FakeService, own_redis: str
) -> None:
    async with database(settings) as sessions:
        made = await register(sessions, settings, "svc", service.url)
        await schedule_checks(sessions, made.id)
    on_redis = settings.model_copy(
        update={"redis_url": own_redis, "queue_name": "integration-monitor"}
    )

    worker = await run_worker_until_idle(on_redis)

    assert worker.jobs_complete == 3
    assert worker.jobs_failed == 0
    async with database(settings) as sessions:
        found = await store.get_integration(sessions, made.id)
        assert found.health == "healthy"
        assert set(found.checks) == set(LEVELS)
        assert await claim_due_checks(sessions, check_intervals(settings)) == []


def _alembic(revision: str, step: Callable[[Config, str], None]) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        step(config, revision)

    return run


async def _on(url: str, work: Callable[[Connection], Any]) -> Any:
    engine = create_engine(make_settings(url))
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def test_the_migration_schedules_the_integrations_it_makes(database_url: str) -> None:
    await _on(database_url, _alembic("0009", command.upgrade))
    registries = sa.table(
        "registry_credentials",
        sa.column("host", sa.String),
        sa.column("plain_http", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rows = [{"host": host, "plain_http": True, "created_at": START} for host in ("a:1", "b:2")]
    await _on(database_url, lambda c: c.execute(registries.insert(), rows))

    await _on(database_url, _alembic("0010", command.upgrade))

    query = (
        "SELECT i.name, c.level FROM integration_checks c "
        "JOIN integrations i ON i.id = c.integration_id ORDER BY 1, 2"
    )
    scheduled = await _on(database_url, lambda c: [tuple(r) for r in c.execute(sa.text(query))])
    assert scheduled == [(name, level) for name in ("a-1", "b-2") for level in LEVELS]
    await _on(database_url, _alembic("0009", command.downgrade))
    tables = await _on(database_url, lambda c: sa.inspect(c).get_table_names())
    assert "integration_checks" not in tables
