"""Claiming durable work with a lease, on SQLite and PostgreSQL: one claimant at a time, and
work whose beats stopped is taken over."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.models.base import utcnow
from app.db.models.pipelines import PipelineRun, StepRun, StepState
from app.pipelines.runs import STEPS
from app.settings import Settings

LEASE = timedelta(seconds=30)


async def _new_step(sessions: SessionFactory) -> int:
    """A pending step of a new run; its id."""
    async with sessions() as session:
        run = PipelineRun(
            provider="github", repository="a/b", pipeline="p", trigger="manual",
            status_context="shipyard/p",
        )  # fmt: skip
        session.add(run)
        await session.flush()
        assert run.id is not None
        step = StepRun(run_id=run.id, name="s", type="run_command", position=0)
        session.add(step)
        await session.commit()
        assert step.id is not None
        return step.id


async def _matched(sessions: SessionFactory, statement: Any) -> bool:
    """Run an UPDATE; whether it matched the row."""
    async with sessions() as session:
        result = await session.exec(statement)
        await session.commit()
        return bool(result.rowcount == 1)


async def test_one_claim_wins_and_a_stale_one_is_taken_over(settings: Settings) -> None:
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
        step_id = await _new_step(sessions)

        async def claim(at: timedelta) -> bool:
            return await _matched(sessions, STEPS.claim(step_id, lease=LEASE, now=utcnow() + at))

        async def stale(at: timedelta) -> list[int | None]:
            async with sessions() as session:
                rows = await session.exec(STEPS.stale(older_than=utcnow() + at - LEASE))
                return [row.id for row in rows]

        assert await claim(timedelta(0))
        assert not await claim(timedelta(seconds=1))  # its worker is beating
        assert await stale(timedelta(seconds=1)) == []
        assert await stale(timedelta(minutes=5)) == [step_id]
        assert await claim(timedelta(minutes=5))  # the beats stopped: taken over
        async with sessions() as session:
            again = await session.get(StepRun, step_id)
            assert again is not None
            assert (again.state, again.attempts) == (StepState.RUNNING, 2)
    finally:
        await engine.dispose()


async def test_a_beat_holds_only_for_the_attempt_that_holds_the_row(settings: Settings) -> None:
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
        step_id = await _new_step(sessions)

        async def execute(statement: Any) -> bool:
            return await _matched(sessions, statement)

        def beat(attempt: int, owner: str) -> Any:
            return STEPS.beat(step_id, now=utcnow(), attempt=attempt, owner=owner)

        assert await execute(STEPS.claim(step_id, lease=LEASE, now=utcnow(), owner="a:1"))
        assert await execute(beat(1, "a:1"))
        taken_over = utcnow() + timedelta(minutes=5)
        assert await execute(STEPS.claim(step_id, lease=LEASE, now=taken_over, owner="b:2"))
        assert not await execute(beat(1, "a:1"))  # the first attempt lost the row
        assert not await execute(beat(2, "a:1"))
        assert await execute(beat(2, "b:2"))
        async with sessions() as session:
            again = await session.get(StepRun, step_id)
            assert again is not None
            assert (again.attempts, again.owner) == (2, "b:2")
    finally:
        await engine.dispose()
