"""Durable work while it runs: beats, stopped when a beat says so, or at its time limit; fenced
(stopped at once, with the stop message) when it lost its lease or could not renew it; and
nothing left running when the caller itself is cancelled."""

from __future__ import annotations

import asyncio

import pytest

from app.work.heartbeat import Beat, Fenced, Stopped, TimedOut, run_beating


async def test_quick_work_returns_without_beating() -> None:
    beats: list[int] = []

    async def beat() -> Beat:
        beats.append(1)
        return Beat.ALIVE

    async def work() -> str:
        return "done"

    assert await run_beating(work(), beat=beat, interval=10) == "done"
    assert beats == []


async def test_work_beats_while_it_runs() -> None:
    beats = 0
    finish = asyncio.Event()

    async def beat() -> Beat:
        nonlocal beats
        beats += 1
        if beats == 3:
            finish.set()
        return Beat.ALIVE

    async def work() -> int:
        await finish.wait()
        return beats

    assert await run_beating(work(), beat=beat, interval=0.01) == 3


async def test_a_beat_that_says_stop_stops_the_work() -> None:
    stopped = asyncio.Event()

    async def beat() -> Beat:
        return Beat.STOP

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    with pytest.raises(Stopped):
        await run_beating(work(), beat=beat, interval=0.01)
    assert stopped.is_set()


async def test_work_past_its_time_limit_times_out() -> None:
    async def beat() -> Beat:
        return Beat.ALIVE

    with pytest.raises(TimedOut):
        await run_beating(asyncio.Event().wait(), beat=beat, interval=0.01, time_limit=0.05)


async def test_cancelling_the_caller_cancels_the_work() -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def beat() -> Beat:
        return Beat.ALIVE

    async def work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    caller = asyncio.create_task(run_beating(work(), beat=beat, interval=10))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert stopped.is_set()


async def _stopped_with(seen: list[tuple[object, ...]]) -> None:
    """Work that runs until cancelled, noting the cancellation's message."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError as cancelled:
        seen.append(cancelled.args)
        raise


async def test_a_beat_that_finds_the_work_lost_fences_it_with_the_stop_message() -> None:
    seen: list[tuple[object, ...]] = []

    async def beat() -> Beat:
        return Beat.LOST

    with pytest.raises(Fenced, match="another attempt"):
        await run_beating(_stopped_with(seen), beat=beat, interval=0.01, stop_message="now")
    assert seen == [("now",)]


async def test_failing_beats_are_survived_until_the_fence() -> None:
    calls = 0
    finish = asyncio.Event()

    async def beat() -> Beat:
        nonlocal calls
        calls += 1
        if calls == 3:
            finish.set()
            return Beat.ALIVE
        raise ConnectionError("the database is down")

    async def work() -> int:
        await finish.wait()
        return calls

    assert await run_beating(work(), beat=beat, interval=0.01, fence_after=3600) == 3


async def test_work_whose_beats_never_get_through_stops_itself() -> None:
    seen: list[tuple[object, ...]] = []
    calls = 0

    async def beat() -> Beat:
        nonlocal calls
        calls += 1
        raise ConnectionError("the database is down")

    with pytest.raises(Fenced, match="lease"):
        await run_beating(
            _stopped_with(seen), beat=beat, interval=0.01, fence_after=0.05, stop_message="now"
        )
    assert seen == [("now",)]
    assert calls >= 1


async def test_a_beat_that_hangs_counts_as_failed() -> None:
    seen: list[tuple[object, ...]] = []

    async def beat() -> Beat:
        await asyncio.Event().wait()
        return Beat.ALIVE

    with pytest.raises(Fenced):
        await run_beating(
            _stopped_with(seen), beat=beat, interval=0.01, fence_after=0.05, stop_message="now"
        )
    assert seen == [("now",)]
