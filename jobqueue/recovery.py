"""Putting stored deliveries that never reached (or never left) the queue back on it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from app import deliveries
from app.db import SessionFactory
from app.models import UNFINISHED, DeliveryStatus, utcnow
from jobqueue.base import JobQueue, QueueUnavailable

log = logging.getLogger(__name__)


def delivery_job_id(delivery_pk: int) -> str:
    return f"delivery:{delivery_pk}"


async def enqueue_delivery(sessions: SessionFactory, queue: JobQueue, delivery_pk: int) -> None:
    """Hand a stored delivery to the queue and record that it is there."""
    await queue.enqueue("process_delivery", delivery_pk, job_id=delivery_job_id(delivery_pk))
    await deliveries.mark_queued(sessions, delivery_pk)


async def requeue(
    sessions: SessionFactory,
    queue: JobQueue,
    *,
    statuses: Sequence[DeliveryStatus] = (DeliveryStatus.RECEIVED,),
    min_age: timedelta = timedelta(0),
) -> int:
    """Enqueue deliveries left in `statuses`; returns how many went on the queue.

    Safe to run from several processes at once: a job id is on the queue at most once, and the
    job claims its delivery before it does anything.
    """
    pks = await deliveries.stranded(sessions, statuses, older_than=utcnow() - min_age)
    for count, pk in enumerate(pks):
        try:
            await enqueue_delivery(sessions, queue, pk)
        except QueueUnavailable as error:
            log.warning(
                "queue unavailable, %d deliveries wait in the database: %s", len(pks), error
            )
            return count
    if pks:
        log.info("requeued %d stored deliveries", len(pks))
    return len(pks)


async def recover_on_start(sessions: SessionFactory, queue: JobQueue) -> int:
    """At start-up: everything unfinished goes back on the queue (the queue may have lost it)."""
    return await requeue(sessions, queue, statuses=UNFINISHED)


async def requeue_forever(
    sessions: SessionFactory, queue: JobQueue, *, interval: float, min_age: float
) -> None:
    """Every `interval` seconds, enqueue deliveries the queue never took (it was down)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await requeue(sessions, queue, min_age=timedelta(seconds=min_age))
        except Exception:
            log.exception("requeue sweep failed; trying again in %.0f s", interval)
