"""The embedded queue: the web process runs the same job functions as asyncio tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from arq import Retry

from jobqueue.base import QueueFunction

__all__ = ["InProcessQueue"]

log = logging.getLogger(__name__)


class InProcessQueue:
    """Runs jobs in this process, with arq's calling convention (`ctx` first, `job_try` in it)
    and its retry semantics (`Retry`, `max_tries`)."""

    def __init__(self, *, max_jobs: int = 10, max_tries: int = 5) -> None:
        self._functions: Mapping[str, QueueFunction] = {}
        self._ctx: Mapping[str, Any] = {}
        self._slots = asyncio.Semaphore(max_jobs)
        self._max_tries = max_tries
        self._running: dict[str, asyncio.Task[None]] = {}
        self._deferred: set[str] = set()  # jobs still waiting for their start

    def bind(self, functions: Mapping[str, QueueFunction], ctx: Mapping[str, Any]) -> None:
        """The functions jobs name, and the context they run with (which usually holds this
        queue too, so binding comes after creation)."""
        self._functions, self._ctx = functions, ctx

    async def enqueue(
        self, function: str, *args: int | str, job_id: str, defer: float = 0.0
    ) -> bool:
        if job_id in self._running:
            log.debug("job %s is queued or running already: not added", job_id)
            return False
        job = self._functions[function]  # KeyError here is a programming error, not user input
        task = asyncio.create_task(self._run(job_id, function, job, args, defer), name=job_id)
        self._running[job_id] = task
        task.add_done_callback(lambda _: self._running.pop(job_id, None))
        return True

    async def _run(
        self,
        job_id: str,
        name: str,
        job: QueueFunction,
        args: tuple[int | str, ...],
        defer: float,
    ) -> None:
        if defer:
            self._deferred.add(job_id)
            try:
                await asyncio.sleep(defer)
            finally:
                self._deferred.discard(job_id)
        for job_try in range(1, self._max_tries + 1):
            ctx = {**self._ctx, "job_id": job_id, "job_try": job_try}
            async with self._slots:
                try:
                    await job(ctx, *args)
                    return
                except Retry as retry:
                    delay = retry.defer_score / 1000 if retry.defer_score else 0.0
                except Exception:
                    log.exception("job %s (%s) failed", job_id, name)
                    return
            await asyncio.sleep(delay)
        log.error("job %s (%s) gave up after %d tries", job_id, name, self._max_tries)

    async def ping(self) -> None:
        return None

    async def depth(self) -> dict[str, int]:
        """Jobs held: waiting for a slot or their start, or running."""
        return {"in-process": len(self._running)}

    async def join(self) -> None:
        """Wait until every job enqueued so far has finished (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def close(self) -> None:
        """Let running jobs finish; drop those still waiting for a later start (a retry in a
        few minutes): their work is in the database, and start-up recovery enqueues it."""
        for job_id in list(self._deferred):
            if task := self._running.get(job_id):
                task.cancel()
        await self.join()
