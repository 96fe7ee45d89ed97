"""A task's work while it runs: beating (its log lines stored with each beat), stopped when its
job is cancelled, and fenced — stopped at once, recording nothing more — when the attempt lost
the task or could not renew its lease in time (the same mechanism as pipeline steps)."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from app.db.models.deployments import DeploymentTask, TaskState
from app.deployments import tasks
from app.deployments.artifacts.base import ArtifactError
from app.deployments.executors.base import DeployFailed
from app.deployments.health import HealthCheckFailed
from app.services import Services
from app.work.heartbeat import Beat, Fenced, Stopped, TimedOut, run_beating
from app.work.log_lines import LogLines
from providers.errors import ProviderError
from steps.launchers import SandboxUnavailable
from steps.process import STOP_NOW
from steps.secret_refs import SecretError

__all__ = ["Ended", "supervise"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ended:
    """How the task's work ended: its state, why (for a failure), and unsaved log lines."""

    state: TaskState
    message: str | None
    lines: str


async def supervise(
    services: Services,
    task: DeploymentTask,
    work: Coroutine[Any, Any, None],
    lines: LogLines,
) -> Ended | None:
    """Run the task's work; while it runs, beat (storing its log lines) and stop it when its
    job is cancelled. How it ended; None if this attempt was fenced (the task is another
    attempt's, or soon may be, and records nothing more of this one)."""
    assert task.id is not None

    async def beat() -> Beat:
        return await tasks.beat(
            services.sessions,
            task.id or 0,
            task.job_id,
            lines.take(),
            attempt=task.attempts,
            owner=task.owner,
        )

    settings = services.settings
    try:
        await run_beating(
            work,
            beat=beat,
            interval=settings.heartbeat_seconds,
            fence_after=max(
                settings.step_lease_seconds - 2 * settings.heartbeat_seconds,
                settings.heartbeat_seconds,
            ),
            stop_message=STOP_NOW,
        )
    except Fenced as fenced:
        log.warning("deployment task %s stopped: %s", task.id, fenced)
        return None
    except Stopped:
        return Ended(TaskState.CANCELLED, "the deployment was cancelled", lines.take())
    except TimedOut:
        return Ended(TaskState.FAILED, "timed out", lines.take())
    except (
        ArtifactError,
        DeployFailed,
        HealthCheckFailed,
        ProviderError,
        SecretError,
        SandboxUnavailable,
    ) as error:
        return Ended(TaskState.FAILED, str(error), lines.take())
    except Exception as error:
        log.exception("deployment task %s raised", task.id)
        return Ended(TaskState.FAILED, f"unexpected {type(error).__name__}: {error}", lines.take())
    return Ended(TaskState.SUCCEEDED, None, lines.take())
