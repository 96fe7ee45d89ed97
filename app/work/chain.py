"""Going on in the same job with the next piece of durable work a finished one made ready,
without a round trip through the queue.

A job runs its piece inside `run_chain`. Where finishing a piece makes others ready, the code
that would enqueue them asks `keep_one` first: the first of them is kept for this job to run
next, the others go to the queue for other workers. A kept piece is claimed like any other (it
is still pending in the database), so durability and take-over are unchanged: if the worker dies
before claiming it, recovery finds it pending. Once a chain has run for its budget it keeps
nothing more, so a job ends (and the queue takes over) well inside the queue's job timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import TypeVar, cast

__all__ = ["has_room", "keep_one", "run_chain"]

K = TypeVar("K")
R = TypeVar("R")


class _Chain:
    """The chain the current job runs: until when it may keep work, and what it kept."""

    def __init__(self, *, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline, self.clock = deadline, clock
        self.owner = asyncio.current_task()
        self.kept: list[object] = []


# A task's chain. Tasks started from a job copy its context, so `keep_one` also checks that it
# is asked by the very task that runs the chain (a job the in-process queue starts is another).
_current: ContextVar[_Chain | None] = ContextVar("shipyard_work_chain", default=None)


def has_room() -> bool:
    """Whether the asking task runs a chain that may keep one more piece now."""
    chain = _owned()
    return chain is not None and chain.clock() < chain.deadline


def keep_one(ready: Sequence[K], *, claimed: bool = False) -> list[K]:
    """Of the pieces of work now ready, the ones to enqueue: all of them, except the first when
    the asking task runs a chain with room for it (that one this job runs next). `claimed`:
    the first was already taken for this job (after `has_room` said yes a moment ago), so it is
    kept whatever the clock says now."""
    chain = _owned()
    if not ready or chain is None or not (claimed or chain.clock() < chain.deadline):
        return list(ready)
    chain.kept.append(ready[0])
    return list(ready[1:])


def _owned() -> _Chain | None:
    """The asking task's own chain, if it runs one and has kept nothing yet."""
    chain = _current.get()
    if chain is None or chain.owner is not asyncio.current_task() or chain.kept:
        return None
    return chain


async def run_chain(
    first: Callable[[], Awaitable[R]],
    then: Callable[[K], Awaitable[R]],
    *,
    budget: float,
    clock: Callable[[], float] = time.monotonic,
) -> list[R]:
    """Run `first()`, then `then(piece)` for the piece `keep_one` kept meanwhile, and so on
    until none is kept (a loop: a chain of any length takes no stack); each one's result, in
    order. Nothing is kept after `budget` seconds from now."""
    chain = _Chain(deadline=clock() + budget, clock=clock)
    token = _current.set(chain)
    try:
        results = [await first()]
        while chain.kept:
            piece = cast(K, chain.kept.pop())
            results.append(await then(piece))
        return results
    finally:
        _current.reset(token)
