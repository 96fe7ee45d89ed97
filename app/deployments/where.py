"""What runs where, by Shipyard's own record: per environment of a repository, the release of
its newest completed deployment, and per target and component the release and digest its
newest succeeded task put there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from app.db.engine import SessionFactory
from app.db.models.deployments import (
    WAITING_JOB_STATES,
    DeploymentJob,
    DeploymentTask,
    JobState,
    TaskKind,
    TaskState,
)

__all__ = ["EnvironmentView", "Placement", "live_releases", "running_where"]


@dataclass(frozen=True)
class Placement:
    """A component on a target: which release put which digest there, and when."""

    target: str
    component: str | None
    release_id: int
    digest: str | None
    job_id: int
    at: datetime | None


@dataclass
class EnvironmentView:
    name: str
    live_release_id: int | None = None  # its newest completed deployment's release
    live_job_id: int | None = None
    placements: list[Placement] = field(default_factory=list)
    recent: list[DeploymentJob] = field(default_factory=list)  # newest first
    waiting: list[DeploymentJob] = field(default_factory=list)  # oldest first


async def running_where(
    sessions: SessionFactory, provider: str, repository: str, *, recent: int = 5
) -> dict[str, EnvironmentView]:
    """Every environment of the repository Shipyard has deployed to (or has work waiting
    for), by name."""
    async with sessions() as session:
        found = await session.exec(
            select(DeploymentJob)
            .where(DeploymentJob.provider == provider, DeploymentJob.repository == repository)
            .order_by(col(DeploymentJob.id).desc())
            .limit(2000)
        )
        all_jobs = list(found)
        job_ids = [job.id for job in all_jobs]
        placed = await session.exec(
            select(DeploymentTask)
            .where(
                col(DeploymentTask.job_id).in_(job_ids),
                col(DeploymentTask.state) == TaskState.SUCCEEDED,
                col(DeploymentTask.kind).in_((TaskKind.DEPLOY, TaskKind.ROLLBACK)),
            )
            .order_by(col(DeploymentTask.id).desc())
        )
        placed_tasks = list(placed)
    by_id = {job.id: job for job in all_jobs}
    views: dict[str, EnvironmentView] = {}
    for job in all_jobs:
        view = views.setdefault(job.environment, EnvironmentView(job.environment))
        if job.state == JobState.COMPLETED and view.live_release_id is None:
            view.live_release_id, view.live_job_id = job.release_id, job.id
        if len(view.recent) < recent:
            view.recent.append(job)
        if job.state in WAITING_JOB_STATES:
            view.waiting.insert(0, job)
    seen: set[tuple[str, str, str | None]] = set()
    for task in placed_tasks:
        job = by_id[task.job_id]
        key = (job.environment, task.target or "", task.component)
        if task.target is None or key in seen:
            continue
        seen.add(key)
        release_id = job.release_id
        if task.kind == TaskKind.ROLLBACK and job.previous_release_id is not None:
            release_id = job.previous_release_id
        views[job.environment].placements.append(
            Placement(
                task.target, task.component, release_id, task.digest, job.id or 0, task.finished_at
            )
        )
    for view in views.values():
        view.placements.sort(key=lambda p: (p.target, p.component or ""))
    return dict(sorted(views.items()))


async def live_releases(
    sessions: SessionFactory, provider: str, repository: str
) -> dict[str, int | None]:
    """Each environment of the repository Shipyard has a deployment for, and the release live
    there (its newest completed deployment's; None while none has completed) — what a
    release's page asks, without the targets and tasks `running_where` reads."""
    async with sessions() as session:
        found = await session.exec(
            select(DeploymentJob.environment, DeploymentJob.state, DeploymentJob.release_id)
            .where(DeploymentJob.provider == provider, DeploymentJob.repository == repository)
            .order_by(col(DeploymentJob.id).desc())
        )
        live: dict[str, int | None] = {}
        for environment, state, release_id in found:
            if live.get(environment) is None:
                live[environment] = release_id if state == JobState.COMPLETED else None
        return dict(sorted(live.items()))
