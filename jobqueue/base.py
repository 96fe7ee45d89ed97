"""What every queue backend offers: enqueue a job by name, with ids as its only arguments."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

__all__ = ["JobQueue", "QueueFunction", "QueueUnavailable"]

QueueFunction = Callable[..., Coroutine[Any, Any, Any]]
"""A job function as arq runs it: `(ctx, *args)`, ctx holding `job_try` and what the
application put there at start-up."""


class QueueUnavailable(Exception):
    """The queue could not take the job now (Redis down); the database still has the work."""


class JobQueue(Protocol):
    async def enqueue(
        self, function: str, *args: int | str, job_id: str, defer: float = 0.0
    ) -> bool:
        """Hand a job to the queue (to start `defer` seconds from now); True if it was added.
        A job whose `job_id` is already waiting or running is not added twice (False), nor, on
        Redis, one whose result is still kept: job ids are unique per piece of work."""

    async def ping(self) -> None:
        """Raise QueueUnavailable unless the queue answers."""

    async def close(self) -> None: ...
