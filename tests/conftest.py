"""Shared fixtures: settings on SQLite and PostgreSQL, a migrated database, the app, real Redis.
Helpers the tests share live in tests/support/."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

# Shared helpers that assert: rewritten like test modules (for the same failure messages),
# which must be said before the first of them is imported.
pytest.register_assert_rewrite("tests.support")

from app.db.engine import create_engine  # noqa: E402
from app.db.schema import upgrade  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.support import services  # noqa: E402
from tests.support.http import running  # noqa: E402
from tests.support.settings import make_settings  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An empty database: a SQLite file, and (second run) a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shipyard.db'}"
        return
    yield from _fresh_postgres()


def _fresh_postgres() -> Iterator[str]:
    services.require_postgres()
    url, name = services.create_postgres_database()
    try:
        yield url
    finally:
        services.drop_postgres_database(name)


async def _migrate(url: str) -> str:
    engine = create_engine(make_settings(url))
    await upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture
async def migrated(database_url: str) -> str:
    return await _migrate(database_url)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    yield from _fresh_postgres()


@pytest.fixture
async def postgres_migrated(postgres_database: str) -> str:
    """A fresh, migrated PostgreSQL database only (for what only PostgreSQL can show)."""
    return await _migrate(postgres_database)


@pytest.fixture
def settings(migrated: str) -> Settings:
    return make_settings(migrated)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A SHIPYARD_DATA_DIR the sandbox's step user can reach (pytest's tmp_path lies under a
    0700 directory of root's, which it may not pass)."""
    path = Path(tempfile.mkdtemp(prefix="shipyard-test-data-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis, its test database emptied before and after."""
    url = services.require_redis()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings)) as client:
        yield client
