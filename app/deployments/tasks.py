"""Deployment tasks in the database: durable work (`app.work.lease`) like pipeline steps.

A task is claimed with a lease by one attempt (queued or retrying → dispatched), beats while it
runs, and is taken over by the sweep when its beats stop. The claim records the state it found
(`resumed_from`): a take-over of a task that was `running` knows its executor may already have
acted. A task that finishes reads its job in the same transaction with the job's row locked,
so two tasks ending at once cannot both miss that the other is done (and leave the job waiting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select as sql_select
from sqlalchemy import update
from sqlalchemy.orm import QueryableAttribute, aliased, defer
from sqlmodel import col, select

from app import metrics
from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.deployments import (
    DeploymentJob,
    DeploymentTask,
    JobState,
    TaskKind,
    TaskState,
)
from app.deployments.jobs import job_strategy
from app.deployments.progress import TaskView
from app.deployments.states import TASK_MOVES
from app.work.heartbeat import Beat
from app.work.lease import LeasedWork

__all__ = [
    "TASKS",
    "Loaded",
    "NewTask",
    "Progress",
    "beat",
    "begin_rollback",
    "claim_task",
    "enter",
    "finish_task",
    "load",
    "move_tasks",
    "plan_once",
    "progress",
    "record",
    "stale_tasks",
    "start_tasks",
]

# Each task's deployment strategy, read by the statement that moves it (for the metrics).
_JOB = aliased(DeploymentJob)
_STRATEGY = (
    sql_select(job_strategy(_JOB))
    .where(col(_JOB.id) == col(DeploymentTask.job_id))
    .scalar_subquery()
)
TASKS = LeasedWork(
    DeploymentTask,
    pending=TaskState.QUEUED,
    running=TaskState.DISPATCHED,
    ready=(TaskState.RETRYING,),
    held=(TaskState.RUNNING, TaskState.VERIFYING),
    resumed_column="resumed_from",
)


@dataclass(frozen=True)
class NewTask:
    wave: int
    kind: str
    target: str | None = None
    targets: tuple[str, ...] = ()
    component: str | None = None
    digest: str | None = None
    replaced_digest: str | None = None
    max_attempts: int = 1


async def plan_once(
    sessions: SessionFactory,
    job_id: int,
    plan: list[dict[str, Any]],
    spec: dict[str, Any],
    new: Sequence[NewTask],
) -> bool:
    """Record the job's plan (its waves, and `spec` merged into its spec) and make its tasks,
    unless it has tasks already; True if this call did. The job's row is locked first, so of
    two attempts preparing one job only the first plans it."""
    async with sessions() as session:
        job = await _job_row(session, job_id, lock=True)
        existing = await session.exec(
            select(DeploymentTask.id).where(DeploymentTask.job_id == job_id).limit(1)
        )
        if job is None or existing.first() is not None:
            await session.commit()
            return False
        job.plan = plan
        job.spec = {**job.spec, **spec}
        job.updated_at = utcnow()
        session.add(job)
        _add(session, job_id, 0, new)
        await session.commit()
        metrics.tasks_moved(TaskState.PENDING, [metrics.strategy_of(job.spec)] * len(new))
        return True


def _add(session: Any, job_id: int, start: int, new: Sequence[NewTask]) -> None:
    for offset, task in enumerate(new):
        session.add(
            DeploymentTask(
                job_id=job_id,
                position=start + offset,
                wave=task.wave,
                kind=task.kind,
                target=task.target,
                targets=list(task.targets),
                component=task.component,
                digest=task.digest,
                replaced_digest=task.replaced_digest,
                max_attempts=task.max_attempts,
            )
        )


async def begin_rollback(
    sessions: SessionFactory,
    job_id: int,
    wave: dict[str, Any],
    spec: dict[str, Any],
    new: Sequence[NewTask],
    *,
    error: str,
) -> bool:
    """running → rolling_back, with the rollback's wave added to the plan, `spec` merged into
    the job's, and its tasks; True if this call did it (one transaction, the job's row
    locked: of two attempts concluding one failed job, one rolls it back)."""
    async with sessions() as session:
        job = await _job_row(session, job_id, lock=True)
        if job is None or job.state != JobState.RUNNING:
            await session.commit()
            return False
        found = await session.exec(
            select(DeploymentTask.position)
            .where(DeploymentTask.job_id == job_id)
            .order_by(col(DeploymentTask.position).desc())
            .limit(1)
        )
        last = found.first()
        job.state, job.error, job.updated_at = JobState.ROLLING_BACK, error, utcnow()
        job.plan = [*job.plan, wave]
        job.spec = {**job.spec, **spec}
        session.add(job)
        _add(session, job_id, 0 if last is None else last + 1, new)
        await session.commit()
        metrics.deployment_moved(JobState.ROLLING_BACK, metrics.strategy_of(job.spec))
        metrics.tasks_moved(TaskState.PENDING, [metrics.strategy_of(job.spec)] * len(new))
        metrics.rollback_begun("automatic")
        return True


@dataclass(frozen=True)
class Loaded:
    """A job with all its tasks (without their logs), read in one transaction."""

    job: DeploymentJob
    tasks: list[DeploymentTask]

    def task(self, task_id: int) -> DeploymentTask:
        return next(task for task in self.tasks if task.id == task_id)


async def load(sessions: SessionFactory, job_id: int) -> Loaded | None:
    async with sessions() as session:
        return await _load(session, job_id)


async def _load(session: Any, job_id: int) -> Loaded | None:
    job = await _job_row(session, job_id)
    return None if job is None else Loaded(job, await _tasks_of(session, job_id))


async def _job_row(
    session: Any, job_id: int, *, lock: bool = False, spec: bool = True
) -> DeploymentJob | None:
    """The job; with `lock`, its row held until the transaction ends (PostgreSQL's FOR
    UPDATE; SQLite has one writer at a time anyway); without `spec`, its spec is not read
    (deciding a job's next move needs only its plan and state, and a job of many targets has
    a large spec)."""
    query = select(DeploymentJob).where(col(DeploymentJob.id) == job_id)
    if not spec:
        query = query.options(defer(cast(QueryableAttribute[Any], DeploymentJob.spec)))
    job: DeploymentJob | None = (
        await session.exec(query.with_for_update() if lock else query)
    ).one_or_none()
    return job


async def _tasks_of(session: Any, job_id: int) -> list[DeploymentTask]:
    rows = await session.exec(
        select(DeploymentTask)
        .options(defer(cast(QueryableAttribute[str], DeploymentTask.log)))
        .where(DeploymentTask.job_id == job_id)
        .order_by(col(DeploymentTask.position))
    )
    return list(rows)


@dataclass(frozen=True)
class Progress:
    """A job (without its spec) and where each of its tasks stands: what deciding the job's
    next move needs, read as plain columns (a job of many tasks reads them on every task's
    end)."""

    job: DeploymentJob
    tasks: list[TaskView]


_VIEW = sql_select(
    col(DeploymentTask.id),
    col(DeploymentTask.wave),
    col(DeploymentTask.kind),
    col(DeploymentTask.state),
    col(DeploymentTask.target),
    col(DeploymentTask.error),
)


async def _views_of(session: Any, job_id: int) -> list[TaskView]:
    connection = await session.connection()
    rows = await connection.execute(
        _VIEW.where(col(DeploymentTask.job_id) == job_id).order_by(col(DeploymentTask.position))
    )
    return [
        TaskView(
            id=pk,
            wave=wave,
            kind=TaskKind(kind),
            state=TaskState(state),
            target=target,
            error=error,
        )
        for pk, wave, kind, state, target, error in rows
    ]


async def progress(sessions: SessionFactory, job_id: int) -> Progress | None:
    async with sessions() as session:
        job = await _job_row(session, job_id, spec=False)
        return None if job is None else Progress(job, await _views_of(session, job_id))


async def move_tasks(
    sessions: SessionFactory, task_ids: Sequence[int], target: TaskState, **values: Any
) -> int:
    """Move each of the tasks its state allows; how many moved."""
    if not task_ids:
        return 0
    async with sessions() as session:
        moved = await _move(session, task_ids, target, **values)
        await session.commit()
        return moved


async def _move(session: Any, task_ids: Sequence[int], target: TaskState, **values: Any) -> int:
    """Move the tasks their states allow to `target`; how many moved. Run on the session's
    connection: nothing of these rows is in the session, and the ORM's bulk-update path costs
    a job of many tasks on every task's end."""
    connection = await session.connection()
    result = await connection.execute(
        update(DeploymentTask)
        .execution_options(synchronize_session=False)
        .where(
            col(DeploymentTask.id).in_(task_ids),
            col(DeploymentTask.state).in_(TASK_MOVES.sources(target)),
        )
        .values(state=target, **values)
        .returning(_STRATEGY)
    )
    strategies = result.scalars().all()  # of each task moved
    metrics.tasks_moved(target, strategies)
    return len(strategies)


async def claim_task(
    sessions: SessionFactory, task_id: int, *, lease: timedelta, owner: str
) -> tuple[DeploymentJob, DeploymentTask] | None:
    """Take a ready task (or one whose worker stopped beating) for a new attempt by `owner`:
    its job (without its spec: `JobSpec.known`) and the task as claimed (the attempt's number
    and owner, for its beats, and the state it was found in); None if another attempt has it
    or it has ended. One transaction."""
    claim = TASKS.claim(task_id, lease=lease, now=utcnow(), owner=owner)
    async with sessions() as session:
        returning = claim.returning(DeploymentTask, _STRATEGY).execution_options(
            populate_existing=True
        )
        task, strategy = (await session.exec(returning)).one_or_none() or (None, None)
        job = await _job_row(session, task.job_id, spec=False) if task is not None else None
        await session.commit()
        metrics.tasks_moved(TaskState.DISPATCHED, [strategy] if task is not None else [])
        return None if task is None or job is None else (job, task)


async def finish_task(
    sessions: SessionFactory,
    task_id: int,
    job_id: int,
    state: TaskState,
    *,
    log: str,
    **values: Any,
) -> Progress | None:
    """Move a task to its end (or back to retrying), append to its log, and read the job as it
    now is, its row locked first."""
    async with sessions() as session:
        job = await _job_row(session, job_id, lock=True, spec=False)
        await _move(
            session,
            [task_id],
            state,
            log=col(DeploymentTask.log) + log,
            finished_at=utcnow(),
            **values,
        )
        found = None if job is None else Progress(job, await _views_of(session, job_id))
        await session.commit()
        return found


async def beat(
    sessions: SessionFactory,
    task_id: int,
    job_id: int,
    log: str,
    *,
    attempt: int,
    owner: str | None,
    **values: Any,
) -> Beat:
    """The task's attempt is alive: append its new log lines. Beat.LOST if another attempt
    holds the task now; Beat.STOP if its job was cancelled meanwhile."""
    async with sessions() as session:
        held = await session.exec(
            TASKS.beat(
                task_id,
                now=utcnow(),
                attempt=attempt,
                owner=owner,
                log=col(DeploymentTask.log) + log,
                **values,
            )
        )
        found = await session.exec(
            select(DeploymentJob.cancel_requested, DeploymentJob.state).where(
                DeploymentJob.id == job_id
            )
        )
        row = found.one_or_none()
        await session.commit()
        if held.rowcount != 1:
            return Beat.LOST
        stop = row is None or row[0] or row[1] == JobState.CANCELLED
        return Beat.STOP if stop else Beat.ALIVE


async def record(sessions: SessionFactory, task_id: int, key: str, value: Any) -> None:
    """Persist something the task did (so a later attempt knows), now."""
    async with sessions() as session:
        task = await session.get(DeploymentTask, task_id)
        if task is None:
            return
        task.recorded = {**task.recorded, key: value}
        session.add(task)
        await session.commit()


async def stale_tasks(sessions: SessionFactory, *, older_than: datetime) -> list[DeploymentTask]:
    """Tasks held by an attempt whose beats stopped before `older_than` (its worker died)."""
    async with sessions() as session:
        return list(await session.exec(TASKS.stale(older_than=older_than)))


async def enter(
    sessions: SessionFactory, task_id: int, state: TaskState, *, attempt: int, owner: str | None
) -> bool:
    """Move the task on (running, verifying) for attempt `attempt` of `owner`, which beats
    for it too; False when another attempt holds the task now."""
    async with sessions() as session:
        connection = await session.connection()
        held = await connection.execute(
            TASKS.beat(task_id, now=utcnow(), attempt=attempt, owner=owner, state=state).returning(
                _STRATEGY
            )
        )
        strategies = held.scalars().all()
        await session.commit()
        metrics.tasks_moved(state, strategies)
        return len(strategies) == 1


async def start_tasks(sessions: SessionFactory, task_ids: Sequence[int]) -> list[int]:
    """Make the pending tasks ready (queued); the ids of those this call moved, in order."""
    if not task_ids:
        return []
    async with sessions() as session:
        connection = await session.connection()
        moved = await connection.execute(
            update(DeploymentTask)
            .execution_options(synchronize_session=False)
            .where(
                col(DeploymentTask.id).in_(task_ids),
                col(DeploymentTask.state) == TaskState.PENDING,
            )
            .values(state=TaskState.QUEUED)
            .returning(col(DeploymentTask.id), _STRATEGY)
        )
        rows = moved.all()
        ids = {row[0] for row in rows}
        await session.commit()
    metrics.tasks_moved(TaskState.QUEUED, [row[1] for row in rows])
    return [task_id for task_id in task_ids if task_id in ids]
