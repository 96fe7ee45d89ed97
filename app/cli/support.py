"""What the command-line modules share: settings with a readable error, a database for a while."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.schema import DatabaseNotMigrated, ensure_migrated
from app.settings import Settings

__all__ = ["load_settings", "require_migrated", "with_database"]

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        raise click.ClickException(f"invalid settings: {error}") from error


def with_database(settings: Settings, work: Callable[[SessionFactory], Awaitable[T]]) -> T:
    """Run `work` on a migrated database (or say which command migrates it)."""

    async def run() -> T:
        engine = create_engine(settings)
        try:
            await ensure_migrated(engine)
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DatabaseNotMigrated as error:
        raise click.ClickException(str(error)) from error


def require_migrated(settings: Settings) -> None:
    """Refuse to go on (saying which command to run) unless the database is migrated."""

    async def nothing(_sessions: SessionFactory) -> None:
        return None

    with_database(settings, nothing)
