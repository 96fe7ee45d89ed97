"""Shared fixtures: settings on SQLite and PostgreSQL, a migrated database, the app, real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from starlette.applications import Starlette

from app.db import create_engine, session_factory
from app.main import create_app
from app.schema import upgrade
from app.settings import Settings
from tests import services

# Shared helpers that assert: rewrite them like test modules, for the same failure messages.
pytest.register_assert_rewrite("tests.providers.shapes")

SECRETS = {
    "GITHUB_WEBHOOK_SECRET": "github-test-secret",
    "GITLAB_WEBHOOK_SECRET": "gitlab-test-secret",
    "GITEA_WEBHOOK_SECRET": "gitea-test-secret",
}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"DATABASE_URL": database_url, **SECRETS, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An empty database: a SQLite file, and (second run) a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shipyard.db'}"
        return
    services.require_postgres()
    url, name = services.create_postgres_database()
    try:
        yield url
    finally:
        services.drop_postgres_database(name)


@pytest.fixture
async def migrated(database_url: str) -> str:
    engine = create_engine(make_settings(database_url))
    await upgrade(engine)
    await engine.dispose()
    return database_url


@pytest.fixture
def settings(migrated: str) -> Settings:
    return make_settings(migrated)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis, its test database emptied before and after."""
    url = services.require_redis()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@contextlib.asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and a client that talks to it over ASGI."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shipyard") as client:
            yield client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings)) as client:
        yield client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """The app behind a real uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def session_for(settings: Settings) -> Any:
    return session_factory(create_engine(settings))
