"""Durable work while it runs: beats, stopped when a beat says so, or at its time limit; and
nothing left running when the caller itself is cancelled."""

from __future__ import annotations

import asyncio

import pytest

from app.work.heartbeat import Stopped, TimedOut, run_beating


async def test_quick_work_returns_without_beating() -> None:
    beats: list[int] = []

    async def beat() -> bool:
        beats.append(1)
        return False

    async def work() -> str:
        return "done"

    assert await run_beating(work(), beat=beat, interval=10) == "done"
    assert beats == []


async def test_work_beats_while_it_runs() -> None:
    beats = 0
    finish = asyncio.Event()

    async def beat() -> bool:
        nonlocal beats
        beats += 1
        if beats == 3:
            finish.set()
        return False

    async def work() -> int:
        await finish.wait()
        return beats

    assert await run_beating(work(), beat=beat, interval=0.01) == 3


async def test_a_beat_that_says_stop_stops_the_work() -> None:
    stopped = asyncio.Event()

    async def beat() -> bool:
        return True

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    with pytest.raises(Stopped):
        await run_beating(work(), beat=beat, interval=0.01)
    assert stopped.is_set()


async def test_work_past_its_time_limit_times_out() -> None:
    async def beat() -> bool:
        return False

    with pytest.raises(TimedOut):
        await run_beating(asyncio.Event().wait(), beat=beat, interval=0.01, time_limit=0.05)


async def test_cancelling_the_caller_cancels_the_work() -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def beat() -> bool:
        return False

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
