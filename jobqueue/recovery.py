"""Putting work the queue lost (or never got) back on it: deliveries, stalled steps, runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from app import deliveries
from app.db import SessionFactory
from app.models import UNFINISHED, DeliveryStatus, utcnow
from app.pipelines import engine, runs
from jobqueue.base import JobQueue, QueueUnavailable
from jobqueue.context import JobContext

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


async def recover_runs(ctx: JobContext) -> int:
    """Re-enqueue steps whose worker stopped beating (it died); start or advance runs that
    stalled (a process died between one of their jobs and the next)."""
    sessions = ctx["sessions"]
    lease = timedelta(seconds=ctx["settings"].step_lease_seconds)
    stale = await runs.stale_steps(sessions, older_than=utcnow() - lease)
    for step in stale:
        assert step.id is not None
        log.warning("step %s of run %s stopped beating; running it again", step.name, step.run_id)
        await ctx["queue"].enqueue(
            "run_step", step.id, job_id=engine.step_job_id(step.id, step.attempts + 1)
        )
    queued, running = await runs.stalled_runs(sessions, older_than=utcnow() - lease)
    for run_id in queued:
        await ctx["queue"].enqueue("start_run", run_id, job_id=f"run:{run_id}")
    for run_id in running:
        await engine.advance(ctx, run_id)
    return len(stale)


async def recover_on_start(ctx: JobContext) -> None:
    """At start-up: everything unfinished goes back on the queue (the queue may have lost it)."""
    await requeue(ctx["sessions"], ctx["queue"], statuses=UNFINISHED)
    try:
        await recover_runs(ctx)
    except QueueUnavailable as error:
        log.warning("queue unavailable; runs are recovered at the next sweep: %s", error)


async def sweep(ctx: JobContext) -> None:
    settings = ctx["settings"]
    await requeue(
        ctx["sessions"],
        ctx["queue"],
        min_age=timedelta(seconds=settings.requeue_min_age_seconds),
    )
    await recover_runs(ctx)


async def sweep_forever(ctx: JobContext) -> None:
    """Every SHIPYARD_REQUEUE_INTERVAL seconds, sweep (the web process)."""
    interval = ctx["settings"].requeue_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await sweep(ctx)
        except Exception:
            log.exception("sweep failed; trying again in %.0f s", interval)
