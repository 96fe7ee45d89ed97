"""A fake wall clock whose recorded sleeps move it, for retry policies and polling steps."""

from __future__ import annotations

from typing import Any

from providers.retry import RetryPolicy


class FakeClock:
    """Wall time that moves only when the code under test sleeps; every sleep is recorded."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def policy(self, *, jitter: float = 1.0, **overrides: Any) -> RetryPolicy:
        """A RetryPolicy on this clock, its jitter fixed at `jitter` (1.0: full backoff)."""
        return RetryPolicy(clock=self.time, sleep=self.sleep, jitter=lambda: jitter, **overrides)
