"""Storing a delivery as the intake would, and reading what a test stored, straight from the
database."""

from __future__ import annotations

from sqlmodel import SQLModel, select

import app.db.models  # noqa: F401  (every table, registered on the metadata)
from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.models.deliveries import Delivery
from app.intake import store
from app.settings import Settings


async def store_delivery(sessions: SessionFactory, delivery: Delivery) -> store.Stored:
    """Store one delivery as the intake's writer would, as a batch of one."""
    async with sessions() as session:
        connection = await session.connection()
        row = store.new_row(**delivery.model_dump(exclude={"id"}))
        [stored] = await store.insert_many(connection, [row])
        await session.commit()
        return stored


async def stored(settings: Settings) -> list[Delivery]:
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            return list(await session.exec(select(Delivery).order_by(Delivery.id)))
    finally:
        await engine.dispose()


async def everything(settings: Settings) -> str:
    """Every row of every table, as text: what to search for a value that must not be kept."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            rows = [
                repr(tuple(row))
                for table in SQLModel.metadata.sorted_tables
                for row in await connection.execute(table.select())
            ]
    finally:
        await engine.dispose()
    return "\n".join(rows)
