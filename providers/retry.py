"""Bounded retries with exponential backoff and jitter, honouring rate-limit resets."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from providers.errors import ProviderError, RateLimited
from providers.http import OBSERVER

T = TypeVar("T")


# A POST that failed with a 5xx or a broken connection may still have happened on the host:
# retrying it could post a comment or dispatch a workflow twice. Rate limits are safe to retry.
_UNSAFE = frozenset({"POST"})


@dataclass(frozen=True)
class RetryPolicy:
    """Retry server and transport errors and rate limits; never 401/403/404/422, and a POST
    only after a rate limit (unless `retry_posts`)."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limit_wait: float = 900.0  # wait at most this long for a rate-limit reset
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = field(default=random.random)
    retry_posts: bool = False

    def delay(self, error: ProviderError, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if not error.retryable or attempt >= self.attempts:
            return None
        if error.method.upper() in _UNSAFE and not (
            self.retry_posts or isinstance(error, RateLimited)
        ):
            return None
        if isinstance(error, RateLimited):
            wait = max(0.0, error.retry_at - self.clock())
            return wait if wait <= self.max_rate_limit_wait else None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return float(backoff * (0.5 + self.jitter() / 2))  # "equal jitter"


async def with_retries(policy: RetryPolicy, call: Callable[[], Awaitable[T]]) -> T:
    """Run `call`, retrying what `policy` says is worth retrying."""
    attempt = 1
    while True:
        try:
            return await call()
        except ProviderError as error:
            wait = policy.delay(error, attempt)
            if wait is None:
                raise
            if isinstance(error, RateLimited):
                OBSERVER.waited(error.host, wait)
        await policy.sleep(wait)
        attempt += 1
