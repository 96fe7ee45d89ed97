"""Reading what a test stored, straight from the database."""

from __future__ import annotations

from sqlmodel import select

from app.db.engine import create_engine, session_factory
from app.db.models.deliveries import Delivery
from app.settings import Settings


async def stored(settings: Settings) -> list[Delivery]:
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            return list(await session.exec(select(Delivery).order_by(Delivery.id)))
    finally:
        await engine.dispose()
