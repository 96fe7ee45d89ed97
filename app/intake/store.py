"""Stored webhook deliveries: storing them once, claiming them for processing, recording results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import col, select

from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.deliveries import Delivery, DeliveryStatus

# A delivery left in `processing` this long by a worker that died may be claimed again.
CLAIM_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Stored:
    """The outcome of storing a delivery: its row id, and whether it had been seen before."""

    id: int
    duplicate: bool
    status: str


async def store_delivery(sessions: SessionFactory, delivery: Delivery) -> Stored:
    """Insert the delivery unless (provider, delivery id) or (provider, body hash) is already
    stored: one statement, `INSERT … ON CONFLICT DO NOTHING RETURNING id` (the hot path of the
    intake). A body replayed under a new delivery id is a duplicate too."""
    async with sessions() as session:
        assert session.bind is not None
        dialect = session.bind.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        values = delivery.model_dump(exclude={"id"})
        inserted = await session.exec(
            insert(Delivery)
            .values(**values)
            .on_conflict_do_nothing()  # either key: (provider, delivery id) or the body hash
            .returning(col(Delivery.id))
        )
        pk = inserted.scalar_one_or_none()
        await session.commit()
        if pk is not None:
            return Stored(pk, duplicate=False, status=delivery.status)
        existing = (
            await session.exec(
                select(Delivery.id, Delivery.status)
                .where(
                    Delivery.provider == delivery.provider,
                    or_(
                        col(Delivery.delivery_id) == delivery.delivery_id,
                        col(Delivery.body_sha256) == delivery.body_sha256,
                    ),
                )
                .order_by(col(Delivery.id))
                .limit(1)
            )
        ).one()
        assert existing[0] is not None
        return Stored(existing[0], duplicate=True, status=existing[1])


async def retry_failed(sessions: SessionFactory, delivery_pk: int) -> bool:
    """A failed delivery goes back to `queued` (a host's "Redeliver" of it); True if it did."""
    async with sessions() as session:
        result = await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery_pk, col(Delivery.status) == DeliveryStatus.FAILED)
            .values(status=DeliveryStatus.QUEUED, error=None, outcome=None)
        )
        await session.commit()
        return bool(result.rowcount == 1)


async def mark_queued(sessions: SessionFactory, delivery_pk: int) -> None:
    await _move(sessions, delivery_pk, DeliveryStatus.RECEIVED, DeliveryStatus.QUEUED)


async def mark_received(sessions: SessionFactory, delivery_pk: int) -> None:
    """The queue did not take it after all: the sweep will enqueue it."""
    await _move(sessions, delivery_pk, DeliveryStatus.QUEUED, DeliveryStatus.RECEIVED)


async def _move(
    sessions: SessionFactory, delivery_pk: int, current: DeliveryStatus, target: DeliveryStatus
) -> None:
    async with sessions() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery_pk, col(Delivery.status) == current)
            .values(status=target)
        )
        await session.commit()


async def claim(sessions: SessionFactory, delivery_pk: int) -> Delivery | None:
    """Take the delivery for processing, or None if it is done or another worker holds it."""
    now = utcnow()
    async with sessions() as session:
        result = await session.exec(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery_pk,
                or_(
                    col(Delivery.status).in_([DeliveryStatus.RECEIVED, DeliveryStatus.QUEUED]),
                    (col(Delivery.status) == DeliveryStatus.PROCESSING)
                    & (col(Delivery.started_at) < now - CLAIM_LEASE),
                ),
            )
            .values(
                status=DeliveryStatus.PROCESSING,
                attempts=col(Delivery.attempts) + 1,
                started_at=now,
            )
        )
        await session.commit()
        if result.rowcount != 1:
            return None
        return await session.get(Delivery, delivery_pk)


async def finish(
    sessions: SessionFactory,
    delivery_pk: int,
    *,
    status: DeliveryStatus,
    kind: str | None = None,
    normalised: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    async with sessions() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery_pk)
            .values(
                status=status,
                kind=kind,
                normalised=normalised,
                error=error,
                processed_at=utcnow(),
            )
        )
        await session.commit()


async def get(sessions: SessionFactory, delivery_pk: int) -> Delivery | None:
    async with sessions() as session:
        return await session.get(Delivery, delivery_pk)


async def set_outcome(sessions: SessionFactory, delivery_pk: int, outcome: dict[str, Any]) -> None:
    async with sessions() as session:
        await session.exec(
            update(Delivery).where(col(Delivery.id) == delivery_pk).values(outcome=outcome)
        )
        await session.commit()


async def stranded(
    sessions: SessionFactory, statuses: Sequence[DeliveryStatus], *, older_than: datetime
) -> list[int]:
    """Ids of deliveries in `statuses` received before `older_than`, oldest first."""
    async with sessions() as session:
        rows = await session.exec(
            select(Delivery.id)
            .where(col(Delivery.status).in_(statuses), Delivery.received_at < older_than)
            .order_by(col(Delivery.received_at))
        )
        return [pk for pk in rows if pk is not None]


async def recent(sessions: SessionFactory, *, limit: int = 20) -> list[Delivery]:
    """The newest deliveries, without their bodies (up to 25 MB each; a listing needs none)."""
    async with sessions() as session:
        rows = await session.exec(
            select(Delivery)
            .options(defer(cast(QueryableAttribute[bytes], Delivery.body)))
            .order_by(col(Delivery.received_at).desc())
            .limit(limit)
        )
        return list(rows)
