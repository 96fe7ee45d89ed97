"""The intake's recovery: deliveries stored but never processed go (back) on the queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.deliveries import UNFINISHED, DeliveryStatus
from app.intake import store
from app.intake.queueing import enqueue_delivery
from app.services import Services
from jobqueue.base import JobQueue, QueueUnavailable

__all__ = ["requeue", "requeue_deliveries"]

log = logging.getLogger(__name__)


async def requeue_deliveries(services: Services, at_start: bool) -> int:
    """At start-up every unfinished delivery (the queue may have lost it); in a sweep, those
    stored while the queue was down, once SHIPYARD_REQUEUE_MIN_AGE old."""
    if at_start:
        return await requeue(services.sessions, services.queue, statuses=UNFINISHED)
    min_age = timedelta(seconds=services.settings.requeue_min_age_seconds)
    return await requeue(services.sessions, services.queue, min_age=min_age)


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
    pks = await store.stranded(sessions, statuses, older_than=utcnow() - min_age)
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
