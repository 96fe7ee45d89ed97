"""The pipelines' recovery: steps whose worker stopped beating run again; runs that stalled
between two of their jobs (a process died there) are started or advanced."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.db.models.base import utcnow
from app.pipelines import engine, stale
from app.pipelines.launch import START_RUN, run_job_id
from app.services import Services

__all__ = ["recover_runs"]

log = logging.getLogger(__name__)


async def recover_runs(services: Services, at_start: bool) -> int:
    """Re-enqueue stale steps and stalled runs (the same at start-up and in a sweep: a step's
    lease says when it is stale); returns how many steps were taken over."""
    sessions = services.sessions
    lease = timedelta(seconds=services.settings.step_lease_seconds)
    steps = await stale.stale_steps(sessions, older_than=utcnow() - lease)
    for step in steps:
        assert step.id is not None
        log.warning("step %s of run %s stopped beating; running it again", step.name, step.run_id)
        await services.queue.enqueue(
            engine.RUN_STEP, step.id, job_id=engine.step_job_id(step.id, step.attempts + 1)
        )
    queued, running = await stale.stalled_runs(sessions, older_than=utcnow() - lease)
    for run_id in queued:
        await services.queue.enqueue(START_RUN, run_id, job_id=run_job_id(run_id))
    for run_id in running:
        await engine.advance(services, run_id)
    return len(steps)
