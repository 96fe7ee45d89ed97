"""Database engine and sessions (async SQLAlchemy on aiosqlite or asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(
    settings: Settings, *, pre_ping: bool = True, pool_size: int | None = None
) -> AsyncEngine:
    """An engine for the configured database.

    PostgreSQL: a fixed pool of SHIPYARD_DB_POOL_SIZE connections (no overflow: opening and
    closing connections under load costs more than waiting a moment for one), each checked
    with a ping before use (unless `pre_ping` is False: the intake's writer replaces a closed
    connection itself) so a restarted server costs no delivery.
    SQLite: one connection, in WAL mode. SQLite has one writer at a time anyway; more
    connections only wait on its lock with back-off sleeps (seconds at the tail under load).
    """
    if not settings.is_sqlite:
        return create_async_engine(
            settings.database_url,
            pool_pre_ping=pre_ping,
            pool_size=pool_size or settings.db_pool_size,
            max_overflow=0,
        )
    engine = create_async_engine(
        settings.database_url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
