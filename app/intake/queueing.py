"""Handing stored deliveries to the queue: one job for a batch of them, under an id of its own.

Job ids are unique per enqueue (`app.work.job_ids`): the database's claim, not the job id,
keeps a delivery from being processed twice.
"""

from __future__ import annotations

from app.work.job_ids import job_id
from jobqueue.base import JobQueue

__all__ = ["PROCESS_DELIVERIES", "enqueue_delivery"]

PROCESS_DELIVERIES = "process_deliveries"


def _job_id(*delivery_pks: int) -> str:
    first, count = delivery_pks[0], len(delivery_pks)
    return job_id("deliveries", first if count == 1 else f"{first}+{count - 1}")


async def enqueue_delivery(queue: JobQueue, *delivery_pks: int, defer: float = 0.0) -> None:
    """One job that processes `delivery_pks` (QueueUnavailable if the queue cannot take it)."""
    await queue.enqueue(
        PROCESS_DELIVERIES, *delivery_pks, job_id=_job_id(*delivery_pks), defer=defer
    )
