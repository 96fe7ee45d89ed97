"""Running a piece of durable work while it beats: stopped when asked, at its deadline, or when
it lost its lease (fencing: docs/adr/0014-step-takeover.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

__all__ = ["Beat", "Fenced", "Stopped", "TimedOut", "run_beating"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Beat(StrEnum):
    """What a beat found."""

    ALIVE = "alive"  # the attempt holds its row: go on
    STOP = "stop"  # the work is no longer wanted (its run was cancelled)
    LOST = "lost"  # another attempt holds the row now


class Stopped(Exception):
    """A beat said the work is no longer wanted (its run was cancelled); it was stopped."""


class TimedOut(Exception):
    """The work ran past its timeout and was stopped."""


class Fenced(Exception):
    """The work lost its lease, or could not renew it in time, and was stopped at once: another
    attempt holds it now, or may take it over any moment."""


async def run_beating(
    work: Coroutine[Any, Any, T],
    *,
    beat: Callable[[], Awaitable[Beat]],
    interval: float,
    time_limit: float | None = None,
    fence_after: float | None = None,
    stop_message: str | None = None,
) -> T:
    """Run `work`, calling `beat()` every `interval` seconds while it runs. Beat.STOP stops it
    (Stopped); past `time_limit` seconds, TimedOut. Beat.LOST, or no beat getting through for
    `fence_after` seconds (from this call, then from each beat that did), stops it at once: it
    is cancelled with `stop_message`, then Fenced. A beat that raises or hangs only counts
    against `fence_after`. Work that ends within one interval never beats. If this call is
    itself cancelled, so is the work."""
    task = asyncio.create_task(work)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit if time_limit else None
    fence_at = loop.time() + fence_after if fence_after is not None else None
    ended: Exception | None = None
    try:
        while ended is None and not task.done():
            next_beat = loop.time() + interval
            wake = next_beat if fence_at is None else min(next_beat, fence_at)
            await asyncio.wait({task}, timeout=max(0.0, wake - loop.time()))
            if task.done():
                break
            asked = loop.time()
            verdict = await _beat(beat, None if fence_at is None else fence_at - asked)
            if verdict is Beat.ALIVE and fence_after is not None:
                fence_at = asked + fence_after
            ended = _ending(verdict, loop.time(), fence_at, deadline)
        if ended is not None:
            task.cancel(stop_message if isinstance(ended, Fenced) else None)
            await asyncio.wait({task})  # cancelled once: a second cancel cuts its clean-up short
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    if ended is not None:
        raise ended
    try:
        return task.result()
    except asyncio.CancelledError:
        raise TimedOut from None


async def _beat(beat: Callable[[], Awaitable[Beat]], within: float | None) -> Beat | None:
    """What the beat found; None if it failed (raised, or took longer than `within`)."""
    try:
        async with asyncio.timeout(within):
            return await beat()
    except Exception as error:  # the database may be down: only the lease says when to stop
        log.warning("a beat failed (%s: %s)", type(error).__name__, error)
        return None


def _ending(
    verdict: Beat | None, now: float, fence_at: float | None, deadline: float | None
) -> Exception | None:
    """Why the work must stop now, if it must."""
    if verdict is Beat.STOP:
        return Stopped()
    if verdict is Beat.LOST:
        return Fenced("another attempt has taken the work over")
    if verdict is None and fence_at is not None and now >= fence_at:
        return Fenced("no beat got through before the lease ran out")
    if deadline is not None and now > deadline:
        return TimedOut()
    return None
