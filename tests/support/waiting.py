"""Waiting for what another process does (a registry's notifications, a worker's job): read
again until it is done, then hand back what was read last, for the test to assert on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, tries: int = 400
) -> T:
    """`read()` again every 50 ms until `done` says so (at most `tries` times, about 20 s)."""
    found = await read()
    for _ in range(tries):
        if done(found):
            break
        await asyncio.sleep(0.05)
        found = await read()
    return found


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = 20.0
) -> None:
    """Wait until `condition()` holds, asking every 50 ms for at most `within` seconds; an
    AssertionError (naming the condition) if it never does."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        answer = condition()
        if not isinstance(answer, bool):
            answer = await answer
        if answer:
            return
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"{condition.__name__} did not hold within {within:g} s")
        await asyncio.sleep(0.05)
