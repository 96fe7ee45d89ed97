"""Applying the Alembic migrations, and refusing to run on a database that lacks them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


class DatabaseNotMigrated(RuntimeError):
    """The database's schema is older than this Shipyard's (or absent)."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the newest schema."""

    def run(connection: Connection) -> None:
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Raise DatabaseNotMigrated, saying which command to run, unless the schema is at head."""
    current, head = await current_revision(engine), head_revision()
    if current != head:
        found = f"at revision {current}" if current else "not migrated"
        raise DatabaseNotMigrated(
            f"The database is {found}; this Shipyard needs revision {head}. "
            "Run `shipyard db upgrade` first."
        )
