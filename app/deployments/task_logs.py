"""A deployment job's task logs as people read them: whole, for the deployment page and the
CLI, or from per-task offsets on, for the page's live event stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import func
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import col, select

from app.db.engine import SessionFactory
from app.db.models.deployments import FINISHED_JOB_STATES, DeploymentJob, DeploymentTask

__all__ = ["Seen", "TaskSeen", "logs_of", "progress_since", "task_log"]


async def task_log(sessions: SessionFactory, task_id: int) -> str:
    async with sessions() as session:
        found = await session.exec(select(DeploymentTask.log).where(DeploymentTask.id == task_id))
        return found.one_or_none() or ""


async def logs_of(sessions: SessionFactory, job_id: int) -> dict[int, str]:
    """Each of the job's tasks' whole log, by task id."""
    async with sessions() as session:
        found = await session.exec(
            select(DeploymentTask.id, DeploymentTask.log).where(DeploymentTask.job_id == job_id)
        )
        return {task_id: text for task_id, text in found if task_id is not None}


@dataclass(frozen=True)
class TaskSeen:
    """A task as `progress_since` read it: its state, and its log from the offset on."""

    id: int
    state: str
    attempts: int
    error: str | None
    new_text: str  # its log from the offset on


@dataclass(frozen=True)
class Seen:
    """A job as `progress_since` read it: its state and its tasks, in order."""

    state: str
    error: str | None
    tasks: list[TaskSeen]

    @property
    def ended(self) -> bool:
        return self.state in FINISHED_JOB_STATES


async def progress_since(
    sessions: SessionFactory, job_id: int, offsets: dict[int, int]
) -> Seen | None:
    """The job's state, its tasks', and each task's log past its offset (only those that
    grew are read), in one session, closed before the caller waits; None if there is no job."""
    async with sessions() as session:
        job = (
            await session.exec(
                select(DeploymentJob.state, DeploymentJob.error).where(DeploymentJob.id == job_id)
            )
        ).one_or_none()
        if job is None:
            return None
        rows = list(
            await session.exec(
                select(DeploymentTask)
                .options(defer(cast(QueryableAttribute[str], DeploymentTask.log)))
                .where(DeploymentTask.job_id == job_id)
                .order_by(col(DeploymentTask.position))
            )
        )
        lengths = await session.exec(
            select(DeploymentTask.id, func.length(DeploymentTask.log)).where(
                DeploymentTask.job_id == job_id
            )
        )
        grown = {
            task_id: offsets.get(task_id, 0)
            for task_id, length in lengths
            if task_id is not None and (length or 0) > offsets.get(task_id, 0)
        }
        seen = []
        for task in rows:
            assert task.id is not None
            text = ""
            if task.id in grown:
                since = func.substr(DeploymentTask.log, grown[task.id] + 1)
                found = await session.exec(select(since).where(DeploymentTask.id == task.id))
                text = found.one() or ""
            seen.append(TaskSeen(task.id, task.state, task.attempts, task.error, text))
        return Seen(job[0], job[1], seen)
