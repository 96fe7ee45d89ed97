"""Stored webhook deliveries: storing them once, claiming them for processing, recording results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, Update, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import SQLModel, col, select

from app.db.engine import SessionFactory
from app.db.inserts import insert_new
from app.db.models.base import utcnow
from app.db.models.deliveries import MOVES, Delivery, DeliveryStatus


@dataclass(frozen=True)
class Stored:
    """The outcome of storing a delivery: its row id, and whether it had been seen before."""

    id: int
    duplicate: bool
    status: str


def new_row(**values: Any) -> dict[str, Any]:
    """A `deliveries` row's values for `insert_many`: what is given, the rest their defaults."""
    return {
        **_DEFAULTS,
        "received_at": utcnow(),
        "status": DeliveryStatus.QUEUED,
        "queued_at": utcnow(),
        **values,
    }


_TABLE: Table = SQLModel.metadata.tables["deliveries"]
_COLUMNS = tuple(column.name for column in _TABLE.columns if column.name != "id")
_DEFAULTS: dict[str, Any] = {
    **{name: None for name in _COLUMNS},
    "headers": {},
    "signed": True,
    "attempts": 0,
    "handled": [],
}


# `INSERT … ON CONFLICT DO NOTHING RETURNING …` (either key: the delivery id or the body hash)
# for a list of rows: SQLAlchemy's "insertmanyvalues" sends one multi-row `VALUES (…), (…)` per
# batch, and the statement compiles once (it is cached) whatever the batch's size.
_RETURNING = (_TABLE.c.id, _TABLE.c.provider, _TABLE.c.delivery_id)
_STATEMENTS = insert_new(_TABLE, *_RETURNING)


async def insert_many(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[Stored]:
    """Insert the rows (from `new_row`) unless (provider, delivery id) or (provider, body hash)
    is already stored — earlier, or by an earlier row of the same batch: a body replayed under a
    new delivery id is a duplicate too. One statement for the batch (the intake's hot path), a
    second only when some were duplicates. Returns each row's outcome, in order."""
    statement = _STATEMENTS[connection.dialect.name]
    inserted = {
        (provider, delivery_id): pk
        for pk, provider, delivery_id in (await connection.execute(statement, list(rows))).all()
    }
    outcomes: list[Stored | None] = []
    for row in rows:
        pk = inserted.pop((row["provider"], row["delivery_id"]), None)  # the first row only
        outcomes.append(None if pk is None else Stored(pk, duplicate=False, status=row["status"]))
    missing = [row for row, outcome in zip(rows, outcomes, strict=True) if outcome is None]
    if missing:
        existing = await _existing(connection, missing)
        for i, (row, outcome) in enumerate(zip(rows, outcomes, strict=True)):
            if outcome is None:
                outcomes[i] = _first_match(existing, row)
    return [outcome for outcome in outcomes if outcome is not None]


_Existing = tuple[int, str, str, str | None, str]  # id, provider, delivery id, hash, status


async def _existing(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[_Existing]:
    table = _TABLE.c
    found = await connection.execute(
        sa_select(table.id, table.provider, table.delivery_id, table.body_sha256, table.status)
        .where(
            or_(
                table.delivery_id.in_({row["delivery_id"] for row in rows}),
                table.body_sha256.in_({row["body_sha256"] for row in rows if row["body_sha256"]}),
            )
        )
        .order_by(table.id)
    )
    return [
        (pk, provider, delivery, digest, status) for pk, provider, delivery, digest, status in found
    ]


def _first_match(existing: Sequence[_Existing], row: dict[str, Any]) -> Stored:
    for pk, provider, delivery_id, body_sha256, status in existing:
        if provider == row["provider"] and (
            delivery_id == row["delivery_id"]
            or (body_sha256 is not None and body_sha256 == row["body_sha256"])
        ):
            return Stored(pk, duplicate=True, status=status)
    raise LookupError(f"delivery {row['delivery_id']} was neither stored nor there before")


async def mark_received_in(connection: AsyncConnection, delivery_pks: Sequence[int]) -> None:
    """Queued deliveries the queue did not take after all (inside the caller's transaction)."""
    await connection.execute(_moving(delivery_pks, DeliveryStatus.RECEIVED))


async def retry_failed(sessions: SessionFactory, delivery_pk: int) -> bool:
    """A failed delivery goes back to `queued` (retried by hand, or a host's "Redeliver" of
    it); True if it did. Handlers that finished stay finished; its tries go on counting (one
    whose tries were used up gets one more)."""
    return await _move(sessions, delivery_pk, DeliveryStatus.QUEUED, error=None, queued_at=utcnow())


async def mark_queued(sessions: SessionFactory, *delivery_pks: int) -> None:
    """Handed to the queue now (received ones are queued; queued ones were queued again)."""
    async with sessions() as session:
        await session.exec(
            update(Delivery)
            .where(
                col(Delivery.id).in_(delivery_pks),
                col(Delivery.status).in_([DeliveryStatus.RECEIVED, DeliveryStatus.QUEUED]),
            )
            .values(status=DeliveryStatus.QUEUED, queued_at=utcnow())
        )
        await session.commit()


async def mark_received(sessions: SessionFactory, *delivery_pks: int) -> None:
    """The queue did not take them after all: the sweep will enqueue them."""
    await _move(sessions, delivery_pks, DeliveryStatus.RECEIVED)


def _moving(pks: Sequence[int], target: DeliveryStatus, **values: Any) -> Update:
    """The UPDATE that moves deliveries `pks` to `target`, from the states it may be reached
    from (`MOVES`), and sets `values` with it."""
    return (
        update(Delivery)
        .where(col(Delivery.id).in_(pks), col(Delivery.status).in_(MOVES.sources(target)))
        .values(status=target, **values)
    )


async def _move(
    sessions: SessionFactory,
    delivery_pks: int | Sequence[int],
    target: DeliveryStatus,
    **values: Any,
) -> bool:
    """Move deliveries to `target` from the states it may be reached from; True if any did."""
    pks = [delivery_pks] if isinstance(delivery_pks, int) else list(delivery_pks)
    async with sessions() as session:
        result = await session.exec(_moving(pks, target, **values))
        await session.commit()
        return bool(result.rowcount)


@dataclass(frozen=True)
class NotClaimed:
    """Why a job did not claim its delivery: the row is not there, or not claimable now."""

    status: str | None  # None: this database has no such delivery


async def claim(
    sessions: SessionFactory, delivery_pk: int, *, lease: timedelta
) -> Delivery | NotClaimed:
    """Take the delivery for processing: one conditional UPDATE, so whoever's matched holds
    it (received or queued, or processing but unfinished for `lease`: its worker died)."""
    now = utcnow()
    async with sessions() as session:
        result = await session.exec(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery_pk,
                or_(
                    col(Delivery.status).in_([DeliveryStatus.RECEIVED, DeliveryStatus.QUEUED]),
                    (col(Delivery.status) == DeliveryStatus.PROCESSING)
                    & (col(Delivery.started_at) < now - lease),
                ),
            )
            .values(
                status=DeliveryStatus.PROCESSING,
                attempts=col(Delivery.attempts) + 1,
                started_at=now,
            )
        )
        await session.commit()
        if result.rowcount == 1:
            claimed = await session.get(Delivery, delivery_pk)
            if claimed is not None:
                return claimed
        status = (
            await session.exec(select(Delivery.status).where(col(Delivery.id) == delivery_pk))
        ).one_or_none()
        return NotClaimed(status)


@dataclass
class Progress:
    """What processing has made of a delivery so far: stored with each handler that finishes,
    so a retry runs only the handlers that did not."""

    kind: str | None = None
    normalised: dict[str, Any] | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    handled: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, delivery: Delivery) -> Progress:
        return cls(
            delivery.kind,
            delivery.normalised,
            dict(delivery.outcome or {}),
            list(delivery.handled or []),
        )

    def values(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "normalised": self.normalised,
            "outcome": self.outcome or None,
            "handled": self.handled,
        }


async def record(sessions: SessionFactory, delivery_pk: int, progress: Progress) -> None:
    """A handler finished (the delivery stays `processing`)."""
    async with sessions() as session:
        await session.exec(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery_pk,
                col(Delivery.status) == DeliveryStatus.PROCESSING,
            )
            .values(**progress.values())
        )
        await session.commit()


async def finish(
    sessions: SessionFactory,
    delivery_pk: int,
    status: DeliveryStatus,
    progress: Progress,
    *,
    error: str | None = None,
) -> None:
    """The delivery's end, and what became of it, in one UPDATE."""
    await _move(
        sessions,
        delivery_pk,
        status,
        error=error,
        processed_at=utcnow(),
        **progress.values(),
    )


async def try_again(
    sessions: SessionFactory,
    delivery_pk: int,
    progress: Progress,
    *,
    error: str,
    at: datetime,
) -> bool:
    """Back to `queued` after a failed try, to run again at `at`; False if it was not ours."""
    return await _move(
        sessions, delivery_pk, DeliveryStatus.QUEUED, error=error, queued_at=at, **progress.values()
    )


async def get(sessions: SessionFactory, delivery_pk: int) -> Delivery | None:
    async with sessions() as session:
        return await session.get(Delivery, delivery_pk)


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


async def lost(sessions: SessionFactory, *, older_than: datetime) -> list[int]:
    """Ids of deliveries handed to the queue, or claimed, before `older_than` and still not
    finished: their job was lost (a Redis flush or restart) or their worker died."""
    queued_at = func.coalesce(col(Delivery.queued_at), col(Delivery.received_at))
    async with sessions() as session:
        rows = await session.exec(
            select(Delivery.id)
            .where(
                or_(
                    (col(Delivery.status) == DeliveryStatus.QUEUED) & (queued_at < older_than),
                    (col(Delivery.status) == DeliveryStatus.PROCESSING)
                    & (col(Delivery.started_at) < older_than),
                )
            )
            .order_by(col(Delivery.id))
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
