"""Handing stored deliveries to the queue: the job that processes one, and its job id."""

from __future__ import annotations

from app.db.engine import SessionFactory
from app.intake import store
from jobqueue.base import JobQueue

__all__ = ["PROCESS_DELIVERY", "ROUTE_DELIVERY", "delivery_job_id", "enqueue_delivery"]

PROCESS_DELIVERY = "process_delivery"
ROUTE_DELIVERY = "route_delivery"


def delivery_job_id(delivery_pk: int) -> str:
    return f"delivery:{delivery_pk}"


async def enqueue_delivery(sessions: SessionFactory, queue: JobQueue, delivery_pk: int) -> None:
    """Hand a stored delivery to the queue and record that it is there."""
    await queue.enqueue(PROCESS_DELIVERY, delivery_pk, job_id=delivery_job_id(delivery_pk))
    await store.mark_queued(sessions, delivery_pk)
