"""Pipeline runs and steps in the database: creating, claiming, moving, recording.

Steps are durable work (`app.work.lease`): claimed with a lease by one attempt, beating while
they run, and a beat of an attempt that was taken over matches nothing. A step
that finishes reads its run in the same transaction with the run's row locked, so two parallel
steps finishing at once cannot both miss that the other is done (and leave the run waiting)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import col, select

from app import metrics
from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.pipelines import PipelineRun, RunState, StepRun, StepState
from app.pipelines.plan import RUN_MOVES, STEP_MOVES
from app.work.heartbeat import Beat
from app.work.lease import LeasedWork

LIVE_RUN_STATES = (RunState.QUEUED, RunState.RUNNING)
STEPS = LeasedWork(StepRun, pending=StepState.PENDING, running=StepState.RUNNING)


@dataclass(frozen=True)
class NewStep:
    name: str
    type: str
    needs: list[str]


@dataclass(frozen=True)
class NewRun:
    provider: str
    repository: str
    pipeline: str
    trigger: str
    status_context: str
    spec: dict[str, Any]
    steps: list[NewStep]
    sha: str | None = None
    ref: str | None = None
    pr_number: int | None = None
    installation_id: int | None = None
    delivery_pk: int | None = None
    event: dict[str, Any] | None = None
    concurrency_group: str | None = None
    cancel_in_progress: bool = True


@dataclass(frozen=True)
class Created:
    run_id: int
    superseded: list[int] = field(default_factory=list)  # runs this one cancelled
    existed: bool = False  # the delivery had already started this pipeline


async def create_run(sessions: SessionFactory, new: NewRun) -> Created:
    """Insert the run and its pending steps; cancel older live runs of its concurrency group.
    A delivery that already started this pipeline gets that run back (`existed`)."""
    try:
        return await _create_run(sessions, new)
    except IntegrityError:
        async with sessions() as session:
            found = await session.exec(
                select(PipelineRun.id).where(
                    PipelineRun.delivery_pk == new.delivery_pk,
                    PipelineRun.pipeline == new.pipeline,
                )
            )
            existing = found.one()
        assert existing is not None
        return Created(existing, existed=True)


async def _create_run(sessions: SessionFactory, new: NewRun) -> Created:
    async with sessions() as session:
        superseded: list[int] = []
        if new.concurrency_group and new.cancel_in_progress:
            rows = await session.exec(
                select(PipelineRun.id).where(
                    PipelineRun.concurrency_group == new.concurrency_group,
                    col(PipelineRun.state).in_(LIVE_RUN_STATES),
                )
            )
            superseded = [pk for pk in rows if pk is not None]
        run = PipelineRun(
            provider=new.provider,
            repository=new.repository,
            pipeline=new.pipeline,
            trigger=new.trigger,
            status_context=new.status_context,
            spec=new.spec,
            sha=new.sha,
            ref=new.ref,
            pr_number=new.pr_number,
            installation_id=new.installation_id,
            delivery_pk=new.delivery_pk,
            event=new.event,
            concurrency_group=new.concurrency_group,
        )
        session.add(run)
        await session.flush()
        assert run.id is not None
        for position, step in enumerate(new.steps):
            session.add(
                StepRun(
                    run_id=run.id,
                    name=step.name,
                    type=step.type,
                    position=position,
                    needs=step.needs,
                )
            )
        if superseded:
            await _request_cancel(session, superseded, "superseded by a newer run")
        await session.commit()
        metrics.run_moved(RunState.QUEUED)
        metrics.step_moved(StepState.PENDING, len(new.steps))
        return Created(run.id, superseded)


async def _request_cancel(session: Any, run_ids: Sequence[int], reason: str) -> None:
    """Mark the runs cancelled; pending steps stop now, running ones at their next heartbeat."""
    now = utcnow()
    cancelled = await session.exec(
        update(PipelineRun)
        .where(col(PipelineRun.id).in_(run_ids), col(PipelineRun.state).in_(LIVE_RUN_STATES))
        .values(cancel_requested=True, state=RunState.CANCELLED, error=reason, finished_at=now)
    )
    metrics.run_moved(RunState.CANCELLED, cancelled.rowcount)
    await session.exec(
        update(StepRun)
        .where(col(StepRun.run_id).in_(run_ids), col(StepRun.state) == StepState.PENDING)
        .values(state=StepState.CANCELLED, error=reason, finished_at=now)
    )


async def get_run(sessions: SessionFactory, run_id: int) -> PipelineRun | None:
    async with sessions() as session:
        return await session.get(PipelineRun, run_id)


async def get_steps(sessions: SessionFactory, run_id: int) -> list[StepRun]:
    async with sessions() as session:
        rows = await session.exec(
            select(StepRun).where(StepRun.run_id == run_id).order_by(col(StepRun.position))
        )
        return list(rows)


async def move_run(sessions: SessionFactory, run_id: int, target: RunState, **values: Any) -> bool:
    """Move the run to `target` if its state allows; True if this call moved it."""
    async with sessions() as session:
        result = await session.exec(
            update(PipelineRun)
            .execution_options(synchronize_session=False)
            .where(
                col(PipelineRun.id) == run_id,
                col(PipelineRun.state).in_(RUN_MOVES.sources(target)),
            )
            .values(state=target, **values)
        )
        await session.commit()
        metrics.run_moved(target, result.rowcount)
        return bool(result.rowcount == 1)


async def move_step(
    sessions: SessionFactory, step_id: int, target: StepState, **values: Any
) -> bool:
    async with sessions() as session:
        moved = await _move_step(session, step_id, target, **values)
        await session.commit()
        return moved


async def _move_step(session: Any, step_id: int, target: StepState, **values: Any) -> bool:
    result = await session.exec(
        update(StepRun)
        .execution_options(synchronize_session=False)
        .where(col(StepRun.id) == step_id, col(StepRun.state).in_(STEP_MOVES.sources(target)))
        .values(state=target, **values)
    )
    metrics.step_moved(target, result.rowcount)
    return bool(result.rowcount == 1)


@dataclass(frozen=True)
class Loaded:
    """A run with all its steps, read in one transaction (and the step claimed in it, if
    one was: see `finish_step`)."""

    run: PipelineRun
    steps: list[StepRun]
    claimed: int | None = None

    def step(self, step_id: int) -> StepRun:
        return next(step for step in self.steps if step.id == step_id)


async def load(sessions: SessionFactory, run_id: int) -> Loaded | None:
    async with sessions() as session:
        return await _load(session, run_id)


async def _load(session: Any, run_id: int) -> Loaded | None:
    run = await _run_row(session, run_id)
    return None if run is None else Loaded(run, await _steps_of(session, run_id))


async def _run_row(session: Any, run_id: int, *, lock: bool = False) -> PipelineRun | None:
    """The run; with `lock`, its row held until the transaction ends (PostgreSQL's FOR
    UPDATE; SQLite has one writer at a time anyway), read by the statement that locks it."""
    query = select(PipelineRun).where(col(PipelineRun.id) == run_id)
    run: PipelineRun | None = (
        await session.exec(query.with_for_update() if lock else query)
    ).one_or_none()
    return run


async def _steps_of(session: Any, run_id: int) -> list[StepRun]:
    """The run's steps, without their logs (nothing that plans or runs a step reads them)."""
    rows = await session.exec(
        select(StepRun)
        .options(defer(cast(QueryableAttribute[str], StepRun.log)))
        .where(StepRun.run_id == run_id)
        .order_by(col(StepRun.position))
    )
    return list(rows)


async def claim_step(
    sessions: SessionFactory,
    step_id: int,
    *,
    lease: timedelta,
    owner: str,
    known: Loaded | None = None,
) -> Loaded | None:
    """Take a pending step (or one whose worker stopped beating) for a new attempt run by
    `owner`, and read its run; None if another worker has it or it is done. One transaction.
    The step as read carries the attempt's number and owner, for its beats.

    `known` is the run as the job read it a moment ago, when it finished the step that made
    this one ready: then only the claimed step is read back (what a step needs of the others,
    the outputs of the steps it needs, does not change once they have finished)."""
    claim = STEPS.claim(step_id, lease=lease, now=utcnow(), owner=owner)
    async with sessions() as session:
        if known is not None:
            returned = await session.exec(claim.returning(StepRun))
            step = returned.scalar_one_or_none()
            await session.commit()
            if step is None:
                return None
            metrics.step_moved(StepState.RUNNING)
            return Loaded(known.run, [step if s.id == step_id else s for s in known.steps])
        claimed = await session.exec(claim.returning(col(StepRun.run_id)))
        run_id = claimed.scalar_one_or_none()
        loaded = await _load(session, run_id) if run_id is not None else None
        await session.commit()
        metrics.step_moved(StepState.RUNNING, int(loaded is not None))
        return loaded


@dataclass(frozen=True)
class ClaimNext:
    """Which step, of the run as it is once a step has finished, the same transaction claims
    for the job that finished it (`pick`: None for none), and for whom."""

    pick: Callable[[Loaded], int | None]
    lease: timedelta
    owner: str


async def finish_step(
    sessions: SessionFactory,
    step_id: int,
    run_id: int,
    state: StepState,
    *,
    log: str,
    then: ClaimNext | None = None,
    **values: Any,
) -> Loaded | None:
    """Move a running step to its end, append to its log, and read the run as it now is (its
    row locked first: see the module's docstring). With `then`, the step it picks is claimed
    in the same transaction (one commit for the end of one step and the start of the next)."""
    async with sessions() as session:
        run = await _run_row(session, run_id, lock=True)
        await _move_step(
            session, step_id, state, log=col(StepRun.log) + log, finished_at=utcnow(), **values
        )
        loaded = None if run is None else Loaded(run, await _steps_of(session, run_id))
        picked = then.pick(loaded) if then is not None and loaded is not None else None
        if then is not None and loaded is not None and picked is not None:
            claim = STEPS.claim(picked, lease=then.lease, now=utcnow(), owner=then.owner)
            # The step was read a moment ago in this session: its row as the claim left it
            # replaces what was read (attempts, owner, state), not the other way round.
            returning = claim.returning(StepRun).execution_options(populate_existing=True)
            step = (await session.exec(returning)).scalar_one_or_none()
            if step is not None:
                metrics.step_moved(StepState.RUNNING)
                steps = [step if s.id == picked else s for s in loaded.steps]
                loaded = Loaded(loaded.run, steps, claimed=picked)
        await session.commit()
        return loaded


async def beat(
    sessions: SessionFactory,
    step_id: int,
    run_id: int,
    log: str,
    *,
    attempt: int,
    owner: str | None,
) -> Beat:
    """Record that the step's attempt is alive and append its new log lines. Beat.LOST if
    another attempt holds the step now (the lines are dropped: they are not the step's any
    more), Beat.STOP if the run was cancelled meanwhile."""
    async with sessions() as session:
        held = await session.exec(
            STEPS.beat(
                step_id, now=utcnow(), attempt=attempt, owner=owner, log=col(StepRun.log) + log
            )
        )
        cancelled = await session.exec(
            select(PipelineRun.cancel_requested).where(PipelineRun.id == run_id)
        )
        stop = cancelled.one_or_none() in (None, True)
        await session.commit()
        if held.rowcount != 1:
            return Beat.LOST
        return Beat.STOP if stop else Beat.ALIVE


async def record(sessions: SessionFactory, step_id: int, key: str, value: Any) -> None:
    async with sessions() as session:
        step = await session.get(StepRun, step_id)
        if step is None:
            return
        step.recorded = {**step.recorded, key: value}
        await session.commit()


async def recent_runs(sessions: SessionFactory, *, limit: int = 20) -> list[PipelineRun]:
    async with sessions() as session:
        rows = await session.exec(
            select(PipelineRun).order_by(col(PipelineRun.created_at).desc()).limit(limit)
        )
        return list(rows)
