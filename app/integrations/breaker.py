"""A circuit breaker per integration: a pure state machine, and the process's breakers by name.

closed ──(failure_threshold failures in a row)──► open ──(open_seconds pass)──► half_open
half_open ──(success_threshold successes)──► closed;  half_open ──(a failure)──► open
An open breaker refuses calls at once; only failures that are the integration's own count
(`errors.trips_breaker`): a missing key or a refused permission says nothing of its health.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

__all__ = ["BreakerPolicy", "BreakerState", "Breakers", "Position", "allow", "record"]

Position = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    success_threshold: int = 3
    open_seconds: float = 60.0


@dataclass(frozen=True)
class BreakerState:
    position: Position = "closed"
    failures: int = 0  # in a row, while closed
    successes: int = 0  # in a row, while half open
    opened_at: float | None = None

    def retry_after(self, policy: BreakerPolicy, now: float) -> float:
        """Seconds until an open breaker lets a call through again (0 when it would now)."""
        if self.position != "open" or self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + policy.open_seconds - now)


CLOSED = BreakerState()


def allow(state: BreakerState, policy: BreakerPolicy, now: float) -> tuple[bool, BreakerState]:
    """Whether a call may go ahead now, and the state it finds (open turns half open once its
    time is up)."""
    if state.position != "open":
        return True, state
    if state.retry_after(policy, now) > 0:
        return False, state
    return True, BreakerState("half_open")


def record(state: BreakerState, policy: BreakerPolicy, now: float, *, ok: bool) -> BreakerState:
    """The state after a call that went ahead ended, `ok` or failed."""
    if state.position == "half_open":
        if not ok:
            return BreakerState("open", opened_at=now)
        successes = state.successes + 1
        if successes >= policy.success_threshold:
            return CLOSED
        return replace(state, successes=successes)
    if state.position == "open":  # a call that was let through before it opened
        return state
    if ok:
        return CLOSED
    failures = state.failures + 1
    if failures >= policy.failure_threshold:
        return BreakerState("open", opened_at=now)
    return replace(state, failures=failures)


class Breakers:
    """This process's breakers, one per integration name (each process keeps its own)."""

    def __init__(
        self, policy: BreakerPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._states: dict[str, BreakerState] = {}

    def state(self, name: str) -> BreakerState:
        return self._states.get(name, CLOSED)

    def allow(self, name: str) -> tuple[bool, float]:
        """Whether a call to `name` may go ahead, and if not, in how many seconds it may."""
        now = self._clock()
        allowed, state = allow(self.state(name), self.policy, now)
        self._states[name] = state
        return allowed, state.retry_after(self.policy, now)

    def record(self, name: str, *, ok: bool) -> BreakerState:
        state = record(self.state(name), self.policy, self._clock(), ok=ok)
        self._states[name] = state
        return state

    def forget(self, name: str) -> None:
        self._states.pop(name, None)

    def positions(self) -> dict[str, Position]:
        return {name: state.position for name, state in self._states.items()}
