"""Where a deployment job stands (pure): from its waves and its tasks' states, which tasks
start now, which will never run, and whether the job has ended and how.

A job runs its waves in order. Within a deploy wave, tasks start up to the wave's `window` of
targets at a time (all at once without one); the next wave starts only when every task of this
one has ended. Failed deploy tasks are tolerated while those of each wave so far, and of the
waves before it, are no more than that wave's `max_failures`; a failed bake or switch never is.
Once the job must stop, nothing new starts; when nothing is left in flight the job has failed,
and the tasks that never ran are cancelled. Rolling back is a phase of its own: every rollback
task at once, the job rolled back when all of them succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.db.models.deployments import TaskKind, TaskState
from app.deployments.strategies.base import Wave

__all__ = ["IN_FLIGHT", "Moves", "Outcome", "TaskView", "next_moves", "rollback_moves"]

ENDED = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED})
IN_FLIGHT = frozenset(
    {
        TaskState.QUEUED,
        TaskState.DISPATCHED,
        TaskState.RUNNING,
        TaskState.VERIFYING,
        TaskState.RETRYING,
    }
)


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class TaskView:
    """What progress needs to know of a task row."""

    id: int
    wave: int
    kind: TaskKind
    state: TaskState
    target: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Moves:
    start: list[int] = field(default_factory=list)  # pending tasks to make ready, in order
    cancel: list[int] = field(default_factory=list)  # pending tasks that will never run
    outcome: Outcome | None = None  # the job has ended so
    reason: str | None = None  # why it failed


def next_moves(waves: Sequence[Wave], tasks: Sequence[TaskView]) -> Moves:
    """What to do now with a running job's deploy phase (see the module's docstring)."""
    by_wave: dict[int, list[TaskView]] = {}
    for task in sorted(tasks, key=lambda t: (t.wave, t.id)):
        if task.kind is not TaskKind.ROLLBACK:
            by_wave.setdefault(task.wave, []).append(task)
    in_flight = [t for t in tasks if t.state in IN_FLIGHT and t.kind is not TaskKind.ROLLBACK]
    for index, wave in enumerate(waves):
        members = by_wave.get(index, [])
        stop = _must_stop(wave, [t for t in tasks if t.wave <= index])
        if stop is not None:
            if in_flight:
                return Moves()
            pending = [t.id for t in tasks if t.state is TaskState.PENDING]
            return Moves(cancel=pending, outcome=Outcome.FAILED, reason=stop)
        if all(t.state in ENDED for t in members):
            continue
        return Moves(start=_to_start(wave, members))
    return Moves(outcome=Outcome.COMPLETED)


def rollback_moves(tasks: Sequence[TaskView]) -> Moves:
    """What to do now with a job rolling back: start every rollback task; once all ended, the
    job is rolled back (or failed, when one of them failed)."""
    rollbacks = [t for t in tasks if t.kind is TaskKind.ROLLBACK]
    pending = [t.id for t in rollbacks if t.state is TaskState.PENDING]
    if pending:
        return Moves(start=pending)
    if any(t.state not in ENDED for t in rollbacks):
        return Moves()
    failed = [t for t in rollbacks if t.state is not TaskState.SUCCEEDED]
    if failed:
        names = ", ".join(sorted({t.target or "the switch back" for t in failed}))
        return Moves(outcome=Outcome.FAILED, reason=f"the rollback failed on {names}")
    return Moves(outcome=Outcome.ROLLED_BACK)


def _must_stop(wave: Wave, tasks: Sequence[TaskView]) -> str | None:
    """Why the job must stop once it has reached `wave`, if it must: `tasks` are those of
    this wave and the waves before it (a later wave's tolerance never excuses an earlier
    wave's failure)."""
    for task in tasks:
        if task.state is TaskState.FAILED and task.kind in (TaskKind.BAKE, TaskKind.SWITCH):
            return f"the {task.kind} failed: {task.error or 'no reason given'}"
    failed = [t for t in tasks if t.kind is TaskKind.DEPLOY and t.state is TaskState.FAILED]
    if len(failed) > wave.max_failures:
        names = ", ".join(dict.fromkeys(t.target or "?" for t in failed))
        allowed = f" (max_failures: {wave.max_failures})" if wave.max_failures else ""
        return f"deploying failed on {names}{allowed}"
    return None


def _to_start(wave: Wave, members: Sequence[TaskView]) -> list[int]:
    """The wave's pending tasks to start now: while fewer than `window` targets are in flight
    (every task of a target starts with its target's first)."""
    pending = [t for t in members if t.state is TaskState.PENDING]
    if wave.window is None:
        return [t.id for t in pending]
    busy = {t.target for t in members if t.state in IN_FLIGHT}
    started: list[int] = []
    for task in pending:
        if task.target not in busy:
            if len(busy) >= wave.window:
                continue
            busy.add(task.target)
        started.append(task.id)
    return started
