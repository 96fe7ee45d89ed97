"""arq's Worker, made to outlive Redis: a lost connection pauses polling, is retried with
capped backoff, is logged once when it goes and once when it is back, and the same process
resumes on the same pool (redis-py reconnects its connections by itself).

arq's own worker ends on the first ConnectionError of a poll. Overridden here, each where the
error would escape: the poll, starting jobs (which would keep a job slot), running one (whose
bookkeeping on Redis may fail midway: the job stays queued and arq runs it again), connecting
at start-up, and closing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq.connections import ArqRedis, create_pool
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["REDIS_DOWN_ERRORS", "REDIS_UP", "ReconnectingWorker"]

log = logging.getLogger(__name__)

REDIS_UP = "redis_up"  # ctx key: an asyncio.Event, set while the worker reaches Redis
REDIS_DOWN_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
FIRST_RETRY_SECONDS = 0.1
PING_TIMEOUT_SECONDS = 5.0

T = TypeVar("T")


class ReconnectingWorker(Worker):
    """An arq Worker that waits out Redis outages, retrying every ≤ `redis_retry_max` s."""

    def __init__(self, *args: Any, redis_retry_max: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redis_retry_max = redis_retry_max
        self.redis_up = asyncio.Event()
        self.redis_up.set()
        self.ctx[REDIS_UP] = self.redis_up
        self._down_since: float | None = None

    def _lost(self, error: BaseException) -> None:
        """Note an outage; only its first error is logged."""
        self.redis_up.clear()
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "lost Redis (%s: %s); retrying every %.1f s at most, jobs wait",
                type(error).__name__,
                error,
                self.redis_retry_max,
            )

    def _back(self) -> None:
        if self._down_since is not None:
            log.info("Redis is back after %.1f s; resuming", time.monotonic() - self._down_since)
            self._down_since = None
        self.redis_up.set()

    async def _until_redis_answers(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt`'s answer, retried with capped backoff while Redis is unreachable."""
        delay = min(FIRST_RETRY_SECONDS, self.redis_retry_max)
        while True:
            try:
                async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                    answer = await attempt()
            except REDIS_DOWN_ERRORS as error:
                self._lost(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.redis_retry_max)
            else:
                self._back()
                return answer

    async def _connect(self) -> ArqRedis:
        return await create_pool(
            self.redis_settings,
            job_deserializer=self.job_deserializer,
            job_serializer=self.job_serializer,
            default_queue_name=self.queue_name,
            expires_extra_ms=self.expires_extra_ms,
        )

    async def main(self) -> None:
        if self._pool is None:
            self._pool = await self._until_redis_answers(self._connect)
        await super().main()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN_ERRORS as error:
            self._lost(error)
            await self._until_redis_answers(self.pool.ping)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq takes a job slot before asking Redis whether the job is free to run, and gives it
        # back only once the job's task is done: an error in between would keep the slot.
        for job_id in job_ids:
            if self.job_counter >= self.max_jobs:
                return
            running = self.tasks.get(job_id.decode())
            try:
                await super().start_jobs([job_id])
            except REDIS_DOWN_ERRORS:
                if self.tasks.get(job_id.decode()) is running:  # no task started for it
                    self._release_sem_dec_counter_on_complete()
                raise

    async def run_job(self, job_id: str, score: int) -> None:
        try:
            await super().run_job(job_id, score)
        except REDIS_DOWN_ERRORS as error:
            self._lost(error)  # the poll notices too, and waits for Redis

    async def close(self) -> None:
        """arq's close, but one that a dead Redis does not keep from running `on_shutdown`."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if self._pool is None:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        try:
            with contextlib.suppress(*REDIS_DOWN_ERRORS):
                async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                    await self.pool.delete(self.health_check_key)
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)
        finally:
            await self.pool.aclose(close_connection_pool=True)
            self._pool = None
