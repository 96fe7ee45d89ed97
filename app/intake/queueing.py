"""Handing stored deliveries to the queue: one job for a batch of them, under an id of its own.

Job ids are unique per enqueue (`app.work.job_ids`): the database's claim, not the job id,
keeps a delivery from being processed twice.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from app.db.engine import SessionFactory
from app.intake import store
from app.work.job_ids import job_id
from jobqueue.base import JobQueue, QueueUnavailable

__all__ = ["PROCESS_DELIVERIES", "Retried", "enqueue_delivery", "retry_delivery"]

log = logging.getLogger(__name__)

PROCESS_DELIVERIES = "process_deliveries"


def _job_id(*delivery_pks: int) -> str:
    first, count = delivery_pks[0], len(delivery_pks)
    return job_id("deliveries", first if count == 1 else f"{first}+{count - 1}")


async def enqueue_delivery(queue: JobQueue, *delivery_pks: int, defer: float = 0.0) -> None:
    """One job that processes `delivery_pks` (QueueUnavailable if the queue cannot take it)."""
    await queue.enqueue(
        PROCESS_DELIVERIES, *delivery_pks, job_id=_job_id(*delivery_pks), defer=defer
    )


class Retried(StrEnum):
    QUEUED = "queued"
    STORED = "stored"  # the queue is unreachable: a sweep hands it to the workers
    NOT_FAILED = "not failed"


async def retry_delivery(sessions: SessionFactory, queue: JobQueue, delivery_pk: int) -> Retried:
    """A failed delivery processed again (by hand, or a host's "Redeliver" of it): back to
    `queued`, and on the queue, or left for the sweep when the queue cannot take it now."""
    if not await store.retry_failed(sessions, delivery_pk):
        return Retried.NOT_FAILED
    try:
        await enqueue_delivery(queue, delivery_pk)
    except QueueUnavailable as error:
        log.warning("delivery %s to retry waits for the sweep: %s", delivery_pk, error)
        await store.mark_received(sessions, delivery_pk)
        return Retried.STORED
    return Retried.QUEUED
