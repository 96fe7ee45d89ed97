"""Migration 0010 moves the registries `shipyard registries add` stored into `docker-registry`
integrations, nothing lost (host, credential reference, plain http), and its downgrade brings
them back; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from app.db.engine import create_engine
from app.db.schema import MIGRATIONS_DIR
from tests.support.settings import make_settings

ADDED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REGISTRIES: list[dict[str, Any]] = [
    {
        "host": "registry.example.com:5000",
        "credential": "env://REGISTRY_LOGIN",
        "plain_http": False,
        "created_at": ADDED,
    },
    {"host": "localhost:5001", "credential": None, "plain_http": True, "created_at": ADDED},
]


async def _on(url: str, work: Callable[[Connection], Any]) -> Any:
    engine = create_engine(make_settings(url))
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _alembic(step: Callable[[Config, str], None], revision: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        step(config, revision)

    return run


def _rows(query: str) -> Callable[[Connection], list[dict[str, Any]]]:
    def read(connection: Connection) -> list[dict[str, Any]]:
        return [dict(row) for row in connection.execute(sa.text(query)).mappings()]

    return read


def _insert_registries(connection: Connection) -> None:
    table = sa.table(
        "registry_credentials",
        sa.column("host", sa.String),
        sa.column("credential", sa.String),
        sa.column("plain_http", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    connection.execute(table.insert(), REGISTRIES)


async def test_registries_become_integrations_and_come_back(database_url: str) -> None:
    await _on(database_url, _alembic(command.upgrade, "0009"))
    await _on(database_url, _insert_registries)

    await _on(database_url, _alembic(command.upgrade, "0010"))

    rows = await _on(
        database_url,
        _rows(
            "SELECT name, type, provider, config, credential_ref, labels, health "
            "FROM integrations ORDER BY name"
        ),
    )
    for row in rows:  # JSON comes back as text on SQLite through a plain query
        for key in ("config", "labels"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
    assert rows == [
        {
            "name": "localhost-5001",
            "type": "registry",
            "provider": "docker-registry",
            "config": {"endpoint": "http://localhost:5001"},
            "credential_ref": None,
            "labels": {},
            "health": "unknown",
        },
        {
            "name": "registry.example.com-5000",
            "type": "registry",
            "provider": "docker-registry",
            "config": {"endpoint": "https://registry.example.com:5000"},
            "credential_ref": "env://REGISTRY_LOGIN",
            "labels": {},
            "health": "unknown",
        },
    ]
    tables = await _on(database_url, lambda c: sa.inspect(c).get_table_names())
    assert "registry_credentials" not in tables

    await _on(database_url, _alembic(command.downgrade, "0009"))

    back = await _on(
        database_url,
        _rows("SELECT host, credential, plain_http FROM registry_credentials ORDER BY host"),
    )
    assert [(r["host"], r["credential"], bool(r["plain_http"])) for r in back] == [
        ("localhost:5001", None, True),
        ("registry.example.com:5000", "env://REGISTRY_LOGIN", False),
    ]
    tables = await _on(database_url, lambda c: sa.inspect(c).get_table_names())
    assert "integrations" not in tables
