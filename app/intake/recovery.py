"""The intake's recovery: deliveries stored but never processed, or whose job the queue lost,
go (back) on the queue."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.db.models.base import utcnow
from app.db.models.deliveries import UNFINISHED, DeliveryStatus
from app.intake import store
from app.intake.queueing import enqueue_delivery
from app.services import Services
from jobqueue.base import QueueUnavailable

__all__ = ["BATCH", "requeue_deliveries"]

log = logging.getLogger(__name__)

BATCH = 50  # deliveries per recovery job


async def requeue_deliveries(services: Services, at_start: bool) -> int:
    """At start-up every unfinished delivery (the queue may have lost it). In a sweep, those
    stored while the queue was down (once SHIPYARD_REQUEUE_MIN_AGE old), and those queued or
    processing for longer than SHIPYARD_DELIVERY_LEASE: their job is gone, or their worker.

    Safe to run from several processes at once: a delivery's job claims it before it does
    anything, so a delivery on the queue twice is processed once."""
    sessions, settings = services.sessions, services.settings
    now = utcnow()
    if at_start:
        pks = await store.stranded(sessions, UNFINISHED, older_than=now)
    else:
        min_age = timedelta(seconds=settings.requeue_min_age_seconds)
        lease = timedelta(seconds=settings.delivery_lease_seconds)
        received = await store.stranded(
            sessions, (DeliveryStatus.RECEIVED,), older_than=now - min_age
        )
        pks = sorted({*received, *await store.lost(sessions, older_than=now - lease)})
    for start in range(0, len(pks), BATCH):
        batch = pks[start : start + BATCH]
        try:
            await enqueue_delivery(services.queue, *batch)
        except QueueUnavailable as error:
            log.warning(
                "queue unavailable, %d deliveries wait in the database: %s", len(pks), error
            )
            return start
        await store.mark_queued(sessions, *batch)
    if pks:
        log.info("requeued %d stored deliveries", len(pks))
    return len(pks)
