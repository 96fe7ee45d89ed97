"""Claiming durable work with a lease, on SQLite and PostgreSQL: one claimant at a time, and
work whose beats stopped is taken over."""

from __future__ import annotations

from datetime import timedelta

from app.db.engine import create_engine, session_factory
from app.db.models.base import utcnow
from app.db.models.pipelines import PipelineRun, StepRun, StepState
from app.pipelines.runs import STEPS
from app.settings import Settings

LEASE = timedelta(seconds=30)


async def test_one_claim_wins_and_a_stale_one_is_taken_over(settings: Settings) -> None:
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
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
            step_id = step.id

        async def claim(at: timedelta) -> bool:
            async with sessions() as session:
                result = await session.exec(STEPS.claim(step_id, lease=LEASE, now=utcnow() + at))
                await session.commit()
                return bool(result.rowcount == 1)

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
