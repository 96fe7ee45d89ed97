"""Deployment jobs in the database: created by a promotion, waiting for approvals and then
their turn, moved along their state machine, and read for pages, the API and the gate.

One job per environment at a time: a job that takes its turn sets `env_slot` to its
environment's name, and the unique index on it lets one job hold it whatever the number of
workers; the job gives it back in the same UPDATE that ends it. Turns go in order: only the
oldest job waiting in an environment may take it (FIFO).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app import metrics
from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.deployments import (
    ACTIVE_JOB_STATES,
    FINISHED_JOB_STATES,
    DeploymentApproval,
    DeploymentArtifact,
    DeploymentJob,
    JobKind,
    JobState,
)
from app.deployments.artifacts.base import Artifact
from app.deployments.states import JOB_MOVES

__all__ = [
    "JOB_STRATEGY",
    "NewJob",
    "add_approval",
    "approvals_of",
    "artifacts_of",
    "create_job",
    "env_slot",
    "get_job",
    "job_strategy",
    "last_completed",
    "list_jobs",
    "mark_reported",
    "move_job",
    "next_waiting",
    "record_host_deployment",
    "save_artifacts",
    "stalled_jobs",
    "take_over",
    "take_turn",
    "touch_job",
]


def env_slot(provider: str, repository: str, environment: str) -> str:
    """What `env_slot` holds while a job has the environment."""
    return f"{provider}:{repository}:{environment}"


def job_strategy(job: Any = DeploymentJob) -> Any:
    """A job's strategy as SQL (of `job`, the table or an alias of it): the statements that
    move jobs and tasks return it, and the metrics count moves by strategy."""
    return func.coalesce(
        col(job.spec)[("environment", "strategy", "type")].as_string(), metrics.DEFAULT_STRATEGY
    )


JOB_STRATEGY = job_strategy()


@dataclass(frozen=True)
class NewJob:
    provider: str
    repository: str
    environment: str
    release_id: int
    requested_by_kind: str
    requested_by: str
    via: str
    spec: dict[str, Any]
    installation_id: int | None = None
    kind: JobKind = JobKind.DEPLOY
    approvals_required: int = 0
    params: dict[str, str] | None = None
    previous_release_id: int | None = None
    rollback_of: int | None = None
    pr_number: int | None = None
    state: JobState | None = None  # where it starts: by default awaiting approval, or queued


async def create_job(sessions: SessionFactory, new: NewJob) -> DeploymentJob:
    """The job, in `new.state`; else awaiting approval when it needs some, else queued."""
    state = new.state or (JobState.AWAITING_APPROVAL if new.approvals_required else JobState.QUEUED)
    job = DeploymentJob(
        provider=new.provider,
        repository=new.repository,
        installation_id=new.installation_id,
        environment=new.environment,
        release_id=new.release_id,
        kind=new.kind,
        state=state,
        requested_by_kind=new.requested_by_kind,
        requested_by=new.requested_by[:200],
        via=new.via,
        approvals_required=new.approvals_required,
        params=dict(new.params or {}),
        spec=new.spec,
        previous_release_id=new.previous_release_id,
        rollback_of=new.rollback_of,
        pr_number=new.pr_number,
    )
    async with sessions() as session:
        session.add(job)
        await session.commit()
        metrics.deployment_moved(state, metrics.strategy_of(new.spec))
        if new.kind == JobKind.ROLLBACK:
            metrics.rollback_begun("requested")
        return job


async def get_job(sessions: SessionFactory, job_id: int) -> DeploymentJob | None:
    async with sessions() as session:
        return await session.get(DeploymentJob, job_id)


async def move_job(sessions: SessionFactory, job_id: int, target: JobState, **values: Any) -> bool:
    """Move the job to `target` if its state allows; True if this call moved it. A job that
    ends gives its environment back."""
    if target in FINISHED_JOB_STATES:
        values.setdefault("env_slot", None)
        values.setdefault("finished_at", utcnow())
    async with sessions() as session:
        result = await session.exec(
            update(DeploymentJob)
            .execution_options(synchronize_session=False)
            .where(
                col(DeploymentJob.id) == job_id,
                col(DeploymentJob.state).in_(JOB_MOVES.sources(target)),
            )
            .values(state=target, updated_at=utcnow(), **values)
            .returning(JOB_STRATEGY)
        )
        moved = result.scalar_one_or_none()  # the job's strategy, if this call moved it
        await session.commit()
        metrics.deployment_moved(target, moved, int(moved is not None))
        return moved is not None


async def touch_job(sessions: SessionFactory, job_id: int, **values: Any) -> None:
    """Record values on the job (and that it moved on: `updated_at`), whatever its state."""
    async with sessions() as session:
        await session.exec(
            update(DeploymentJob)
            .execution_options(synchronize_session=False)
            .where(col(DeploymentJob.id) == job_id)
            .values(updated_at=utcnow(), **values)
        )
        await session.commit()


async def take_turn(sessions: SessionFactory, job: DeploymentJob) -> bool:
    """queued → pending, holding the environment, if `job` is the oldest job waiting there
    and no other job holds it; True if it did."""
    assert job.id is not None
    oldest = (
        select(func.min(DeploymentJob.id))
        .where(
            DeploymentJob.provider == job.provider,
            DeploymentJob.repository == job.repository,
            DeploymentJob.environment == job.environment,
            DeploymentJob.state == JobState.QUEUED,
        )
        .scalar_subquery()
    )
    slot = env_slot(job.provider, job.repository, job.environment)
    try:
        async with sessions() as session:
            result = await session.exec(
                update(DeploymentJob)
                .execution_options(synchronize_session=False)
                .where(
                    col(DeploymentJob.id) == job.id,
                    col(DeploymentJob.state) == JobState.QUEUED,
                    col(DeploymentJob.id) == oldest,
                )
                .values(state=JobState.PENDING, env_slot=slot, updated_at=utcnow())
                .returning(JOB_STRATEGY)
            )
            moved = result.scalar_one_or_none()  # the job's strategy, if this call moved it
            await session.commit()
            metrics.deployment_moved(JobState.PENDING, moved, int(moved is not None))
            return moved is not None
    except IntegrityError:
        return False  # another job holds the environment


async def take_over(
    sessions: SessionFactory, job_id: int, state: JobState, *, older_than: datetime
) -> bool:
    """Take a job that nothing moved in `state` since `older_than` (the worker preparing or
    completing it died): True for the one caller whose conditional touch matched."""
    async with sessions() as session:
        result = await session.exec(
            update(DeploymentJob)
            .execution_options(synchronize_session=False)
            .where(
                col(DeploymentJob.id) == job_id,
                col(DeploymentJob.state) == state,
                col(DeploymentJob.updated_at) < older_than,
            )
            .values(updated_at=utcnow())
        )
        await session.commit()
        return bool(result.rowcount == 1)


async def next_waiting(
    sessions: SessionFactory, provider: str, repository: str, environment: str
) -> int | None:
    """The oldest job queued for the environment, if any."""
    async with sessions() as session:
        found = await session.exec(
            select(func.min(DeploymentJob.id)).where(
                DeploymentJob.provider == provider,
                DeploymentJob.repository == repository,
                DeploymentJob.environment == environment,
                DeploymentJob.state == JobState.QUEUED,
            )
        )
        return found.one_or_none()


async def ahead_of(sessions: SessionFactory, job: DeploymentJob) -> int:
    """How many jobs go before a queued `job` in its environment: those queued before it, and
    the one holding the environment (0 for a job not queued)."""
    if job.state != JobState.QUEUED:
        return 0
    same = (
        DeploymentJob.provider == job.provider,
        DeploymentJob.repository == job.repository,
        DeploymentJob.environment == job.environment,
    )
    async with sessions() as session:
        queued = await session.exec(
            select(func.count())
            .select_from(DeploymentJob)
            .where(*same, DeploymentJob.state == JobState.QUEUED, col(DeploymentJob.id) < job.id)
        )
        holding = await session.exec(
            select(func.count())
            .select_from(DeploymentJob)
            .where(
                col(DeploymentJob.env_slot)
                == env_slot(job.provider, job.repository, job.environment)
            )
        )
        return int(queued.one()) + int(holding.one())


async def last_completed(
    sessions: SessionFactory,
    provider: str,
    repository: str,
    environment: str,
    *,
    before_id: int | None = None,
) -> DeploymentJob | None:
    """The newest completed job of the environment (before job `before_id`): what runs there."""
    query = select(DeploymentJob).where(
        DeploymentJob.provider == provider,
        DeploymentJob.repository == repository,
        DeploymentJob.environment == environment,
        DeploymentJob.state == JobState.COMPLETED,
    )
    if before_id is not None:
        query = query.where(col(DeploymentJob.id) < before_id)
    async with sessions() as session:
        found = await session.exec(query.order_by(col(DeploymentJob.id).desc()).limit(1))
        return found.first()


async def list_jobs(
    sessions: SessionFactory,
    *,
    provider: str | None = None,
    repository: str | None = None,
    environment: str | None = None,
    release_id: int | None = None,
    states: Sequence[str] | None = None,
    before_id: int | None = None,
    pr_number: int | None = None,
    limit: int = 50,
) -> list[DeploymentJob]:
    """Jobs newest first, filtered (`pr_number`: those asked for on that pull request)."""
    query = select(DeploymentJob)
    if provider is not None:
        query = query.where(DeploymentJob.provider == provider)
    if repository is not None:
        query = query.where(DeploymentJob.repository == repository)
    if environment is not None:
        query = query.where(DeploymentJob.environment == environment)
    if release_id is not None:
        query = query.where(DeploymentJob.release_id == release_id)
    if states is not None:
        query = query.where(col(DeploymentJob.state).in_(states))
    if before_id is not None:
        query = query.where(col(DeploymentJob.id) < before_id)
    if pr_number is not None:
        query = query.where(DeploymentJob.pr_number == pr_number)
    async with sessions() as session:
        found = await session.exec(query.order_by(col(DeploymentJob.id).desc()).limit(limit))
        return list(found)


async def stalled_jobs(sessions: SessionFactory, *, older_than: datetime) -> list[int]:
    """Jobs waiting or under way that nothing moved since `older_than`: their job may be lost."""
    waiting = (JobState.QUEUED, *ACTIVE_JOB_STATES)
    async with sessions() as session:
        found = await session.exec(
            select(DeploymentJob.id).where(
                col(DeploymentJob.state).in_(waiting), DeploymentJob.updated_at < older_than
            )
        )
        return [pk for pk in found if pk is not None]


async def add_approval(sessions: SessionFactory, job_id: int, host: str, login: str) -> int:
    """Record `host:login`'s approval (once per person); how many the job has now."""
    try:
        async with sessions() as session:
            session.add(DeploymentApproval(job_id=job_id, host=host, login=login))
            await session.commit()
    except IntegrityError:
        pass  # approved before: counted once
    return len(await approvals_of(sessions, job_id))


async def approvals_of(sessions: SessionFactory, job_id: int) -> list[DeploymentApproval]:
    async with sessions() as session:
        found = await session.exec(
            select(DeploymentApproval)
            .where(DeploymentApproval.job_id == job_id)
            .order_by(col(DeploymentApproval.id))
        )
        return list(found)


async def save_artifacts(
    sessions: SessionFactory, job_id: int, purpose: str, artifacts: Sequence[Artifact]
) -> None:
    """The job's generated files for `purpose` (deploy, rollback), replacing any earlier (the
    job's row locked first: two attempts preparing one job write one after the other)."""
    async with sessions() as session:
        await session.exec(
            select(DeploymentJob.id).where(col(DeploymentJob.id) == job_id).with_for_update()
        )
        existing = await session.exec(
            select(DeploymentArtifact).where(
                DeploymentArtifact.job_id == job_id, DeploymentArtifact.purpose == purpose
            )
        )
        for row in existing:
            await session.delete(row)
        await session.flush()
        for artifact in artifacts:
            session.add(
                DeploymentArtifact(
                    job_id=job_id,
                    purpose=purpose,
                    name=artifact.name,
                    filename=artifact.filename,
                    content=artifact.content.decode("utf-8"),
                    sha256=artifact.sha256,
                )
            )
        await session.commit()


async def artifacts_of(
    sessions: SessionFactory, job_id: int, purpose: str | None = None
) -> list[DeploymentArtifact]:
    query = select(DeploymentArtifact).where(DeploymentArtifact.job_id == job_id)
    if purpose is not None:
        query = query.where(DeploymentArtifact.purpose == purpose)
    async with sessions() as session:
        return list(await session.exec(query.order_by(col(DeploymentArtifact.id))))


async def record_host_deployment(
    sessions: SessionFactory, job_id: int, deployment: dict[str, Any]
) -> None:
    await touch_job(sessions, job_id, host_deployment=deployment)


async def mark_reported(sessions: SessionFactory, job_id: int, what: str) -> bool:
    """Claim reporting `what` (a state) for the job: True the first time only. Read and
    written with the job's row locked, so two workers never both report it."""
    async with sessions() as session:
        found = await session.exec(
            select(DeploymentJob).where(col(DeploymentJob.id) == job_id).with_for_update()
        )
        job = found.one_or_none()
        if job is None or what in job.reported:
            await session.commit()
            return False
        job.reported = [*job.reported, what]
        session.add(job)
        await session.commit()
        return True
