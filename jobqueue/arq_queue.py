"""The arq backend: jobs go to Redis and any number of `shipyard worker` processes run them.

One Redis may serve several installations: each has its own queue name, which names its arq
queue and prefixes its job ids (arq keys jobs and results by id alone, whatever the queue)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from jobqueue.base import QueueUnavailable

__all__ = ["ArqQueue", "queue_key", "redis_forgot", "redis_settings"]

log = logging.getLogger(__name__)


def queue_key(queue_name: str) -> str:
    """The Redis key of an installation's arq queue (a sorted set of job ids)."""
    return f"{queue_name}:queue"


async def redis_forgot(redis: ArqRedis, queue_name: str) -> bool:
    """Whether Redis forgot what it held since this was last asked (and the queue's jobs with
    it): a marker set by the first asking is gone after a FLUSHALL or a restart without
    persistence. A reconnecting client may never see an error for either; the marker tells."""
    return bool(await redis.set(f"{queue_name}:remembers", b"1", nx=True))


def redis_settings(url: str, *, verify_tls: bool = True) -> RedisSettings:
    """arq's settings for a Redis URL; connecting fails fast so a request never waits on it."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_retries = 0
    settings.conn_timeout = 2
    if urlsplit(url).scheme == "rediss" and not verify_tls:
        settings.ssl_cert_reqs = "none"
    return settings


class ArqQueue:
    """Enqueues on Redis through one lazily (re)connected arq pool, on `queue_name`'s queue —
    or, for a job `routes` names, on the queue it names (job ids keep `queue_name`'s prefix)."""

    def __init__(
        self,
        settings: RedisSettings,
        *,
        queue_name: str,
        pool: ArqRedis | None = None,
        timeout: float = 2.0,
        pause_after_failure: float = 5.0,
        routes: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._queue_name = queue_name
        self._routes = dict(routes or {})
        self._pool = pool
        self._timeout = timeout  # a Redis that accepts but never answers must not hang a request
        self._pause = pause_after_failure  # then requests skip Redis and the sweeper catches up
        self._down_until = 0.0
        self._connecting = asyncio.Lock()

    async def _connection(self) -> ArqRedis:
        async with self._connecting:
            if self._pool is None:
                self._pool = await create_pool(
                    self._settings, default_queue_name=queue_key(self._queue_name)
                )
            return self._pool

    async def enqueue(
        self, function: str, *args: int | str, job_id: str, defer: float = 0.0
    ) -> bool:
        if time.monotonic() < self._down_until:
            raise QueueUnavailable(f"Redis failed moments ago; job {job_id} waits for the sweeper")
        arq_id = f"{self._queue_name}:{job_id}"
        try:
            async with asyncio.timeout(self._timeout):
                pool = await self._connection()
                job = await pool.enqueue_job(
                    function,
                    *args,
                    _job_id=arq_id,
                    _queue_name=queue_key(self._routes.get(function, self._queue_name)),
                    _defer_by=defer or None,
                )
        except (RedisError, OSError, TimeoutError) as error:
            self._down_until = time.monotonic() + self._pause
            raise QueueUnavailable(f"Redis did not take job {job_id}: {error!r}") from error
        if job is None:
            log.debug("job %s is queued already (or its result is still kept): not added", arq_id)
        return job is not None

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                pool = await self._connection()
                await pool.ping()
            self._down_until = 0.0
        except (RedisError, OSError, TimeoutError) as error:
            self._down_until = time.monotonic() + self._pause
            raise QueueUnavailable(f"Redis is unreachable: {error}") from error

    async def depth(self) -> dict[str, int]:
        """Jobs on each of this installation's queues: waiting, deferred or running (arq keeps
        a job in its queue's sorted set until it ends)."""
        if time.monotonic() < self._down_until:
            raise QueueUnavailable("Redis failed moments ago")
        names = dict.fromkeys([self._queue_name, *self._routes.values()])
        try:
            async with asyncio.timeout(self._timeout):
                pool = await self._connection()
                return {name: int(await pool.zcard(queue_key(name))) for name in names}
        except (RedisError, OSError, TimeoutError) as error:
            raise QueueUnavailable(f"Redis did not answer: {error!r}") from error

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
