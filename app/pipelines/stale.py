"""Finding the pipelines' work the queue lost: steps whose worker stopped beating, and runs
stalled between two of their jobs (a process died there, or the queue lost a job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import col, select

from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.pipelines import PipelineRun, RunState, StepRun, StepState
from app.pipelines.runs import STEPS

__all__ = ["stale_steps", "stalled_runs"]


async def stale_steps(sessions: SessionFactory, *, older_than: datetime) -> list[StepRun]:
    """Running steps whose worker stopped beating before `older_than` (it died)."""
    async with sessions() as session:
        rows = await session.exec(STEPS.stale(older_than=older_than))
        return list(rows)


async def stalled_runs(
    sessions: SessionFactory, *, older_than: datetime
) -> tuple[list[int], list[int]]:
    """(queued runs never started, running runs with no step running or changed) since
    `older_than`: what a process that died between two jobs of a run leaves behind, or a queue
    that lost a job. The pending steps of those running runs are marked as handed to the queue
    now (their `heartbeat_at`), so the next sweeps leave the run alone for a lease while the
    jobs recovery enqueues for them wait for a worker."""
    busy = select(StepRun.run_id).where(
        or_(
            col(StepRun.state) == StepState.RUNNING,
            col(StepRun.started_at) >= older_than,
            col(StepRun.finished_at) >= older_than,
            col(StepRun.heartbeat_at) >= older_than,
        )
    )
    async with sessions() as session:
        queued = await session.exec(
            select(PipelineRun.id).where(
                col(PipelineRun.state) == RunState.QUEUED, PipelineRun.created_at < older_than
            )
        )
        running = await session.exec(
            select(PipelineRun.id).where(
                col(PipelineRun.state) == RunState.RUNNING,
                col(PipelineRun.started_at) < older_than,
                col(PipelineRun.id).not_in(busy),
            )
        )
        stalled = [pk for pk in running if pk is not None]
        if stalled:
            await session.exec(
                update(StepRun)
                .where(col(StepRun.run_id).in_(stalled), col(StepRun.state) == StepState.PENDING)
                .values(heartbeat_at=utcnow())
            )
            await session.commit()
        return [pk for pk in queued if pk is not None], stalled
