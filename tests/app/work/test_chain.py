"""A job going on with the work it made ready (`app.work.chain`): one piece kept, the rest for
the queue; in a loop, not by recursion; nothing kept past the budget, or by another task."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence

from app.work.chain import keep_one, run_chain
from app.work.job_ids import job_id


class Pieces:
    """Pieces of work by number: running one records it (and the task it ran in), then hands
    what it made ready to `keep_one`, recording the ones it would enqueue."""

    def __init__(self, makes_ready: Mapping[int, Sequence[int]]) -> None:
        self.makes_ready = makes_ready
        self.ran: list[tuple[int, asyncio.Task[object] | None]] = []
        self.enqueued: list[int] = []

    async def run(self, piece: int) -> str:
        self.ran.append((piece, asyncio.current_task()))
        self.enqueued += keep_one(list(self.makes_ready.get(piece, ())))
        return f"ran {piece}"


async def test_the_first_piece_made_ready_runs_next_in_the_same_task_the_rest_are_enqueued() -> (
    None
):
    pieces = Pieces({0: [1], 1: [2, 3, 4], 2: [5]})
    results = await run_chain(lambda: pieces.run(0), pieces.run, budget=60)

    assert results == ["ran 0", "ran 1", "ran 2", "ran 5"]
    assert [piece for piece, _ in pieces.ran] == [0, 1, 2, 5]
    assert len({task for _, task in pieces.ran}) == 1  # one task: no queue hop
    assert pieces.enqueued == [3, 4]


async def test_a_long_chain_is_a_loop_not_a_recursion() -> None:
    length = 5 * sys.getrecursionlimit()
    pieces = Pieces({k: [k + 1] for k in range(length - 1)})
    results = await run_chain(lambda: pieces.run(0), pieces.run, budget=60)

    assert len(results) == length
    assert pieces.enqueued == []


async def test_nothing_is_kept_once_the_budget_is_spent() -> None:
    now = [0.0]

    async def slow(piece: int) -> str:
        now[0] += 10.0  # each piece takes ten (pretend) seconds
        return await pieces.run(piece)

    pieces = Pieces({k: [k + 1] for k in range(10)})
    results = await run_chain(lambda: slow(0), slow, budget=25, clock=lambda: now[0])

    # Pieces 0 and 1 ended within the budget and kept the next; piece 2 ended past it.
    assert results == ["ran 0", "ran 1", "ran 2"]
    assert pieces.enqueued == [3]


async def test_outside_a_chain_or_in_another_task_everything_is_enqueued() -> None:
    assert keep_one([1, 2]) == [1, 2]
    inner: list[list[int]] = []

    async def first() -> str:
        # A job started from this one (the in-process queue's) copies the chain's context.
        inner.append(await asyncio.create_task(_keep([7, 8])))
        return "first"

    assert await run_chain(first, _never, budget=60) == ["first"]
    assert inner == [[7, 8]]


async def _keep(ready: list[int]) -> list[int]:
    return keep_one(ready)


async def _never(piece: int) -> str:
    raise AssertionError(f"piece {piece} was kept by a task that does not run the chain")


def test_job_ids_are_new_on_every_enqueue() -> None:
    ids = {job_id("step", 12, 1) for _ in range(100)}
    assert len(ids) == 100
    assert all(pk.startswith("step:12:1:") for pk in ids)
