"""The deployment job's and task's state machines, as tables of allowed moves (pure): every
conditional UPDATE that moves a job or a task is built from them."""

from __future__ import annotations

from app.db.models.deployments import JobState, TaskState
from app.work.states import Transitions

__all__ = ["JOB_MOVES", "TASK_MOVES"]

J = JobState
JOB_MOVES: Transitions[JobState] = Transitions(
    {
        J.AWAITING_CHECKS: [J.AWAITING_CONFIRMATION, J.AWAITING_APPROVAL, J.QUEUED, J.CANCELLED],
        J.AWAITING_CONFIRMATION: [J.AWAITING_APPROVAL, J.QUEUED, J.CANCELLED],
        J.AWAITING_APPROVAL: [J.QUEUED, J.CANCELLED],
        J.QUEUED: [J.PENDING, J.CANCELLED],
        J.PENDING: [J.PREPARING, J.FAILED, J.CANCELLED],
        J.PREPARING: [J.RUNNING, J.FAILED, J.CANCELLED],
        J.RUNNING: [J.COMPLETING, J.FAILED, J.ROLLING_BACK, J.CANCELLED],
        J.COMPLETING: [J.COMPLETED, J.FAILED],
        J.ROLLING_BACK: [J.ROLLED_BACK, J.FAILED],
    }
)

T = TaskState
TASK_MOVES: Transitions[TaskState] = Transitions(
    {
        T.PENDING: [T.QUEUED, T.CANCELLED],
        T.QUEUED: [T.DISPATCHED, T.CANCELLED],
        T.RETRYING: [T.QUEUED, T.DISPATCHED, T.CANCELLED],
        # A take-over claims a task again from any state an attempt held it in.
        T.DISPATCHED: [T.DISPATCHED, T.RUNNING, T.VERIFYING, T.FAILED, T.CANCELLED],
        T.RUNNING: [T.DISPATCHED, T.VERIFYING, T.SUCCEEDED, T.FAILED, T.RETRYING, T.CANCELLED],
        T.VERIFYING: [T.DISPATCHED, T.SUCCEEDED, T.FAILED, T.RETRYING, T.CANCELLED],
    }
)
