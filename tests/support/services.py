"""The real services tests use: PostgreSQL and Redis on this machine, required in CI."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from urllib.parse import urlsplit

import asyncpg
import pytest

from steps.sandbox import SandboxTools, find_tools

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "SHIPYARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SHIPYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def require(url: str, default_port: int, name: str) -> None:
    """Skip when the service is absent, except in CI, where its absence fails the test."""
    if _reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}; CI must run this test")
    pytest.skip(message)


def require_redis() -> str:
    require(REDIS_URL, 6379, "Redis")
    return REDIS_URL


def require_postgres() -> str:
    require(POSTGRES_URL, 5432, "PostgreSQL")
    return POSTGRES_URL


def require_sandbox() -> SandboxTools:
    """bubblewrap and slirp4netns, as the worker finds them (skipped without, failed in CI)."""
    found = find_tools(os.environ.get("PATH"))
    if isinstance(found, str) or found.slirp4netns is None:
        message = f"no sandbox on this machine: {found}"
        if IN_CI:
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return found


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_postgres_database() -> tuple[str, str]:
    """A new, empty database on the test server; returns (its URL, its name)."""
    name = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return _with_database(POSTGRES_URL, name), name


def drop_postgres_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
