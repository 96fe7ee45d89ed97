"""The deployments' queue jobs by name, and handing work to them: ids only, never state."""

from __future__ import annotations

import logging

from app.services import Services
from app.work.job_ids import job_id
from jobqueue.base import QueueUnavailable

__all__ = ["ADVANCE_DEPLOYMENT", "RUN_DEPLOYMENT_TASK", "enqueue_advance", "enqueue_task"]

log = logging.getLogger(__name__)

ADVANCE_DEPLOYMENT = "advance_deployment"
RUN_DEPLOYMENT_TASK = "run_deployment_task"


async def enqueue_advance(services: Services, job: int, defer: float = 0.0) -> None:
    """Have a worker take the job's next step (recovery's, if the queue is down)."""
    try:
        await services.queue.enqueue(
            ADVANCE_DEPLOYMENT, job, job_id=job_id("deployment", job), defer=defer
        )
    except QueueUnavailable as error:
        log.warning("deployment %s waits for recovery to go on: %s", job, error)


async def enqueue_task(services: Services, task: int, attempt: int, defer: float = 0.0) -> None:
    """Have a worker run the task (recovery's, if the queue is down)."""
    try:
        await services.queue.enqueue(
            RUN_DEPLOYMENT_TASK, task, job_id=job_id("task", task, attempt), defer=defer
        )
    except QueueUnavailable as error:
        log.warning("deployment task %s waits for recovery to run: %s", task, error)
