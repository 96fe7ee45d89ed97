"""The arq backend: jobs go to Redis and any number of `shipyard worker` processes run them."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from jobqueue.base import QueueUnavailable

QUEUE_NAME = "shipyard:queue"


def redis_settings(url: str, *, verify_tls: bool = True) -> RedisSettings:
    """arq's settings for a Redis URL; connecting fails fast so a request never waits on it."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_retries = 0
    settings.conn_timeout = 2
    if urlsplit(url).scheme == "rediss" and not verify_tls:
        settings.ssl_cert_reqs = "none"
    return settings


class ArqQueue:
    """Enqueues on Redis through one lazily (re)connected arq pool."""

    def __init__(
        self,
        settings: RedisSettings,
        *,
        pool: ArqRedis | None = None,
        timeout: float = 2.0,
        pause_after_failure: float = 5.0,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._timeout = timeout  # a Redis that accepts but never answers must not hang a request
        self._pause = pause_after_failure  # then requests skip Redis and the sweeper catches up
        self._down_until = 0.0
        self._connecting = asyncio.Lock()

    async def _connection(self) -> ArqRedis:
        async with self._connecting:
            if self._pool is None:
                self._pool = await create_pool(self._settings, default_queue_name=QUEUE_NAME)
            return self._pool

    async def enqueue(
        self, function: str, *args: int | str, job_id: str, defer: float = 0.0
    ) -> None:
        if time.monotonic() < self._down_until:
            raise QueueUnavailable(f"Redis failed moments ago; job {job_id} waits for the sweeper")
        try:
            async with asyncio.timeout(self._timeout):
                pool = await self._connection()
                await pool.enqueue_job(function, *args, _job_id=job_id, _defer_by=defer or None)
        except (RedisError, OSError, TimeoutError) as error:
            self._down_until = time.monotonic() + self._pause
            raise QueueUnavailable(f"Redis did not take job {job_id}: {error!r}") from error

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                pool = await self._connection()
                await pool.ping()
            self._down_until = 0.0
        except (RedisError, OSError, TimeoutError) as error:
            self._down_until = time.monotonic() + self._pause
            raise QueueUnavailable(f"Redis is unreachable: {error}") from error

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
