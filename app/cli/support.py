"""What the command-line modules share: settings with a readable error, a database for a while."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.schema import DatabaseNotMigrated, ensure_migrated
from app.settings import Settings

__all__ = ["echo", "load_settings", "require_migrated", "terminal_safe", "with_database"]

T = TypeVar("T")

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and
# isolates: what lets stored text (a title, a log line) move the cursor, retitle the window,
# rewrite the screen or reorder what is shown.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` with every control character shown as its escape (`\\x1b`), not obeyed."""
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text)


def echo(text: str, *, err: bool = False) -> None:
    """Print text that holds what people wrote (titles, logs, errors), made terminal-safe."""
    click.echo(terminal_safe(text), err=err)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        raise click.ClickException(f"invalid settings: {error}") from error


def _sqlite_directory(settings: Settings) -> Path | None:
    """The directory a SQLite DATABASE_URL's file is in (None: in memory, or not SQLite)."""
    if not settings.is_sqlite:
        return None
    path = settings.database_url.partition(":///")[2].partition("?")[0]
    return Path(path).parent if path and path != ":memory:" else None


async def reach(engine: AsyncEngine, settings: Settings) -> None:
    """Connect once, or ClickException saying in one paragraph why not and what to check."""
    directory = _sqlite_directory(settings)
    if directory is not None and not directory.is_dir():  # said before SQLite is asked
        raise click.ClickException(
            f"the database cannot be reached (SQLite file: its directory {directory} does not "
            "exist). Check DATABASE_URL: the directory must exist and be writable"
        )
    try:
        async with engine.connect():
            pass
    except Exception as error:  # any driver's way of saying no: refused, no such database, …
        cause = getattr(error, "orig", None) or error
        where = "SQLite file" if settings.is_sqlite else "PostgreSQL server"
        fix = (
            "the directory must exist and be writable"
            if settings.is_sqlite
            else "is the server up, does the database exist, may this user connect?"
        )
        said = str(cause).strip().splitlines()[0][:300] if str(cause).strip() else ""
        kind = type(cause).__name__
        what = said if kind == "Error" and said else f"{kind}: {said}" if said else kind
        raise click.ClickException(
            f"the database cannot be reached ({where}: {what}). Check DATABASE_URL: {fix}"
        ) from None


def with_database(settings: Settings, work: Callable[[SessionFactory], Awaitable[T]]) -> T:
    """Run `work` on a migrated database (or say which command migrates it, or why the
    database cannot be reached)."""

    async def run() -> T:
        engine = create_engine(settings)
        try:
            await reach(engine, settings)
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


def key_values(values: tuple[str, ...], flag: str) -> dict[str, str]:
    """Repeated `KEY=VALUE` options as a dict; a malformed one is a usage error naming `flag`."""
    pairs: dict[str, str] = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=flag)
        pairs[key.strip()] = text
    return pairs


def table_lines(rows: list[list[str]]) -> list[str]:
    """Rows (the first the heading) as lines of columns padded to their widest cell."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
