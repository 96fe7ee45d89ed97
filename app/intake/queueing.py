"""Handing stored deliveries to the queue: one job for a batch of them, under an id of its own.

Job ids are unique per enqueue: the database's claim, not the job id, keeps a delivery from
being processed twice, and a fixed id would be refused while the queue keeps an old result
under it (arq keeps results for an hour).
"""

from __future__ import annotations

import secrets

from jobqueue.base import JobQueue

__all__ = ["PROCESS_DELIVERIES", "enqueue_delivery", "job_id"]

PROCESS_DELIVERIES = "process_deliveries"


def job_id(*delivery_pks: int) -> str:
    first, count = delivery_pks[0], len(delivery_pks)
    span = f"{first}" if count == 1 else f"{first}+{count - 1}"
    return f"deliveries:{span}:{secrets.token_hex(4)}"


async def enqueue_delivery(queue: JobQueue, *delivery_pks: int, defer: float = 0.0) -> None:
    """One job that processes `delivery_pks` (QueueUnavailable if the queue cannot take it)."""
    await queue.enqueue(
        PROCESS_DELIVERIES, *delivery_pks, job_id=job_id(*delivery_pks), defer=defer
    )
