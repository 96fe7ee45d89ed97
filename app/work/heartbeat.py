"""Running a piece of durable work while it beats: stopped when asked, or at its deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["Stopped", "TimedOut", "run_beating"]

T = TypeVar("T")


class Stopped(Exception):
    """A beat said the work is no longer wanted (its run was cancelled); it was stopped."""


class TimedOut(Exception):
    """The work ran past its timeout and was stopped."""


async def run_beating(
    work: Coroutine[Any, Any, T],
    *,
    beat: Callable[[], Awaitable[bool]],
    interval: float,
    time_limit: float | None = None,
) -> T:
    """Run `work`, calling `beat()` every `interval` seconds while it runs. `beat` returns True
    when the work should stop (then Stopped); past `time_limit` seconds, TimedOut. Work that ends
    within one interval never beats. If this call is itself cancelled, so is the work."""
    task = asyncio.create_task(work)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit if time_limit else None
    stopped = False
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=interval)
            if task.done():
                break
            if await beat():
                stopped = True
                task.cancel()
            elif deadline is not None and loop.time() > deadline:
                task.cancel()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    if stopped:
        with contextlib.suppress(BaseException):
            await task
        raise Stopped
    try:
        return task.result()
    except asyncio.CancelledError:
        raise TimedOut from None
