"""`shipyard db upgrade`: the database schema."""

from __future__ import annotations

import asyncio

import click

from app.cli.support import load_settings, reach

__all__ = ["db"]


@click.group()
def db() -> None:
    """The database schema."""


@db.command()
def upgrade() -> None:
    """Apply every migration this Shipyard has (safe to run again)."""
    from app.db.engine import create_engine
    from app.db.schema import head_revision
    from app.db.schema import upgrade as apply

    settings = load_settings()

    async def run() -> None:
        engine = create_engine(settings)
        try:
            await reach(engine, settings)
            await apply(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    click.echo(f"database is at revision {head_revision()}")
