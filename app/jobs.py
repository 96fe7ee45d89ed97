"""The one place a queue job becomes a call: arq's `(ctx, *ids)` to a body's
`(services, attempt, *ids)`. Both queue backends run the functions made here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app import metrics
from app.features import JOBS
from app.logs import clear_log_context
from app.services import JobBody, Services
from jobqueue.base import QueueFunction

__all__ = ["SERVICES", "queue_function", "queue_functions"]

SERVICES = "services"  # the key of the process's Services in a job's ctx


def queue_function(name: str, body: JobBody) -> QueueFunction:
    """`body` as a queue function named `name`: ctx's Services and try number come first."""

    async def job(ctx: Mapping[str, Any], *ids: int | str) -> object:
        services: Services = ctx[SERVICES]
        clear_log_context()  # a job's lines carry what it binds, not what its enqueuer had
        with metrics.job_timer(name):
            return await body(services, int(ctx.get("job_try", 1)), *ids)

    job.__name__ = job.__qualname__ = name
    return job


def queue_functions(jobs: Mapping[str, JobBody] = JOBS) -> dict[str, QueueFunction]:
    """Every feature's job, by name."""
    return {name: queue_function(name, body) for name, body in jobs.items()}
