"""Group commit at the intake: deliveries that arrive together are stored together.

Each request verifies and parses its delivery, hands the row to the process's `BatchWriter`
and awaits the commit of its batch: one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING`,
written once a window of a few milliseconds has passed since the batch's first row, or once it
holds `max_rows` (whichever comes first). Then the batch's new deliveries go to the queue as one
job. A request learns its row is stored only after the commit: if the batch fails, each of its
requests is told so (503 at the edge), never that it was stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.engine import create_engine
from app.db.models.deliveries import DeliveryStatus
from app.intake import store
from app.intake.queueing import enqueue_delivery
from app.settings import Settings
from jobqueue.base import JobQueue, QueueUnavailable

__all__ = ["BatchWriter", "NotStored", "Written", "open_writer"]

log = logging.getLogger(__name__)

WRITER_CONNECTIONS = 2  # the writer's own pool (PostgreSQL)
DEADLOCK_OR_SERIALIZATION = {"40P01", "40001"}


class NotStored(Exception):
    """The batch holding this delivery could not be committed: nothing of it was stored."""


@dataclass(frozen=True)
class Written:
    """A delivery's row after its batch: stored (new or a duplicate), and whether it is on the
    queue (False: stored while the queue was down, for the sweep)."""

    stored: store.Stored
    queued: bool


class BatchWriter:
    """The per-process writer the intake hands its rows to (see the module's docstring)."""

    def __init__(
        self, engine: AsyncEngine, queue: JobQueue, *, window: float, max_rows: int
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._window = window
        self._max_rows = max_rows
        self._rows: list[dict[str, Any]] = []
        self._waiting: list[asyncio.Future[Written]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()
        # Batches are written one after another: two at once could each hold a key the other
        # inserts (a delivery sent twice) and deadlock.
        self._one_at_a_time = asyncio.Lock()

    async def write(self, row: dict[str, Any]) -> Written:
        """Store `row` (a `deliveries` row's values) with the batch it arrives in."""
        answer: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        self._rows.append(row)
        self._waiting.append(answer)
        if len(self._rows) >= self._max_rows:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._flush)
        return await answer

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rows, waiting = self._rows, self._waiting
        self._rows, self._waiting = [], []
        if rows:
            task = asyncio.create_task(self._write_batch(rows, waiting))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _write_batch(
        self, rows: list[dict[str, Any]], waiting: list[asyncio.Future[Written]]
    ) -> None:
        try:
            async with self._one_at_a_time:  # meanwhile the next batch gathers
                stored = await self._insert(rows)
        except (SQLAlchemyError, OSError) as error:
            cause = getattr(error, "orig", None) or error  # not the statement and its bodies
            log.error("could not store a batch of %d deliveries: %r", len(rows), cause)
            for answer in waiting:
                _answer(answer, exception=NotStored(repr(cause)))
            return
        except BaseException as error:  # cancelled at shutdown: nobody is told "stored"
            for answer in waiting:
                _answer(answer, exception=NotStored(repr(error)))
            raise
        new = [
            each.id
            for each, row in zip(stored, rows, strict=True)
            if not each.duplicate and row["status"] == DeliveryStatus.QUEUED
        ]
        queued = await self._enqueue(new)
        for each, answer in zip(stored, waiting, strict=True):
            _answer(answer, Written(each, queued=queued or each.duplicate))

    async def _insert(self, rows: Sequence[dict[str, Any]]) -> list[store.Stored]:
        """The batch's INSERT, tried once more if the server closed the connection (no
        pre-ping on this path: a healthy connection costs no round trip) or, with other
        processes writing too, chose this batch to break a deadlock."""
        for last in (False, True):
            try:
                async with self._autocommit() as connection:
                    return await store.insert_many(connection, rows)
            except DBAPIError as error:
                if last or not _worth_again(error):
                    raise
                log.info("writing a batch again: %s", type(error.orig).__name__)
        raise AssertionError("unreachable")

    async def _enqueue(self, pks: list[int]) -> bool:
        """One job for the batch's new deliveries; if the queue cannot take it, they wait in
        the database for the sweep (and are still stored)."""
        if not pks:
            return True
        try:
            await enqueue_delivery(self._queue, *pks)
            return True
        except QueueUnavailable as error:
            log.warning("deliveries stored, queue unavailable; the sweep enqueues them: %s", error)
        try:
            async with self._autocommit() as connection:
                await store.mark_received_in(connection, pks)
        except (SQLAlchemyError, OSError):
            log.exception("could not mark deliveries for the sweep; start-up will enqueue them")
        return False

    @contextlib.asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose each statement commits by itself: the batch's INSERT is one
        statement (all of it or none), so BEGIN and COMMIT would only add two round trips."""
        async with self._engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def aclose(self) -> None:
        """Write what is waiting, and wait for the batches being written."""
        self._flush()
        while self._writing:
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._writing)


def _worth_again(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return bool(error.connection_invalidated) or sqlstate in DEADLOCK_OR_SERIALIZATION


def _answer(
    answer: asyncio.Future[Written],
    written: Written | None = None,
    *,
    exception: BaseException | None = None,
) -> None:
    if answer.done():  # its request went away
        return
    if exception is not None:
        answer.set_exception(exception)
    else:
        assert written is not None
        answer.set_result(written)


@contextlib.asynccontextmanager
async def open_writer(settings: Settings, queue: JobQueue) -> AsyncIterator[BatchWriter]:
    """The web process's writer, on connections of its own: without the ping before each use,
    and never waiting behind the jobs' transactions for one (SQLite's single connection, in
    the embedded mode, is busy with the jobs the web process runs)."""
    async with contextlib.AsyncExitStack() as stack:
        engine = create_engine(settings, pre_ping=False, pool_size=WRITER_CONNECTIONS)
        stack.push_async_callback(engine.dispose)
        writer = BatchWriter(
            engine,
            queue,
            window=settings.intake_batch_window_ms / 1000,
            max_rows=settings.intake_batch_max,
        )
        stack.push_async_callback(writer.aclose)
        yield writer
