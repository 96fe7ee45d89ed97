"""The deployments' recovery: tasks whose worker stopped beating run again (or fail as
interrupted: `engine`), and jobs that nothing moved for a lease go on from where their row
says they are (a job the queue lost, a worker that died between two steps), their ready
tasks handed to the queue again."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.db.models.base import utcnow
from app.db.models.deployments import TaskState
from app.deployments import jobs, tasks
from app.deployments.queueing import enqueue_advance, enqueue_task
from app.services import Services

__all__ = ["recover_deployments"]

log = logging.getLogger(__name__)


async def recover_deployments(services: Services, at_start: bool) -> int:
    """Re-enqueue stale tasks and stalled jobs (a lease says when; the same at start-up and
    in a sweep); returns how many tasks were taken over."""
    lease = timedelta(seconds=services.settings.step_lease_seconds)
    older_than = utcnow() - lease
    stale = await tasks.stale_tasks(services.sessions, older_than=older_than)
    for task in stale:
        assert task.id is not None
        log.warning("deployment task %s stopped beating; taking it over", task.id)
        await enqueue_task(services, task.id, task.attempts + 1)
    for job_id in await jobs.stalled_jobs(services.sessions, older_than=older_than):
        await jobs.touch_job(services.sessions, job_id)  # a lease before the next look
        await enqueue_advance(services, job_id)
        loaded = await tasks.load(services.sessions, job_id)
        for task in loaded.tasks if loaded is not None else []:
            # Ready, but their queue job may be lost (a flushed Redis): a claim decides who
            # runs one, so handing it over again costs nothing.
            if task.state in (TaskState.QUEUED, TaskState.RETRYING) and task.id is not None:
                await enqueue_task(services, task.id, task.attempts + 1)
    return len(stale)
