"""A step's work while it runs: under its timeout, beating (its log lines stored with each
beat), stopped when its run is cancelled, and fenced — stopped at once, recording nothing more
— when the attempt lost the step or could not renew its lease in time."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from app.db.models.base import as_utc, utcnow
from app.db.models.pipelines import PipelineRun, StepRun, StepState
from app.pipelines import runs
from app.services import Services
from app.work.heartbeat import Beat, Fenced, Stopped, TimedOut, run_beating
from app.work.log_lines import LogLines
from providers.errors import ProviderError
from steps.base import StepFailed
from steps.process import STOP_NOW
from steps.sandbox import SandboxUnavailable
from steps.secret_refs import SecretError
from steps.templates import TemplateError

__all__ = ["Ended", "supervise"]

log = logging.getLogger(__name__)


class Ended:
    """The step ended otherwise than by succeeding: its state, why, and unsaved log lines."""

    def __init__(self, state: StepState, message: str, lines: str) -> None:
        self.state, self.message, self.lines = state, message, lines


async def supervise(
    services: Services,
    run: PipelineRun,
    step: StepRun,
    spec: dict[str, Any],
    work: Coroutine[Any, Any, dict[str, Any]],
    lines: LogLines,
) -> dict[str, Any] | Ended | None:
    """Run the step under its timeout; while it runs, beat (storing its log lines) and stop
    it when the run is cancelled. Its outputs, or how it ended; None if this attempt lost the
    step, or could not renew its lease in time, and stopped at once (fencing: the step is
    another attempt's, or soon may be, and records nothing more of this one)."""

    async def beat() -> Beat:
        return await runs.beat(
            services.sessions,
            step.id or 0,
            run.id or 0,
            lines.take(),
            attempt=step.attempts,
            owner=step.owner,
        )

    settings = services.settings
    timeout = spec.get("timeout_seconds")
    # Stop before the lease runs out (a take-over may start then), with two beats to spare;
    # the lease started at the claim.
    margin = 2 * settings.heartbeat_seconds + _seconds_since(step.heartbeat_at)
    try:
        produced = await run_beating(
            work,
            beat=beat,
            interval=settings.heartbeat_seconds,
            time_limit=timeout,
            fence_after=max(settings.step_lease_seconds - margin, settings.heartbeat_seconds),
            stop_message=STOP_NOW,
        )
    except Fenced as fenced:
        log.warning("step %s of run %s stopped: %s", step.name, step.run_id, fenced)
        return None
    except Stopped:
        return Ended(StepState.CANCELLED, "run cancelled", lines.take())
    except TimedOut:
        return Ended(StepState.FAILED, f"timed out after {timeout:g} s", lines.take())
    except (StepFailed, ProviderError, SecretError, TemplateError, SandboxUnavailable) as error:
        return Ended(StepState.FAILED, str(error), lines.take())
    except Exception as error:
        log.exception("step %s raised", step.name)
        return Ended(StepState.FAILED, f"unexpected {type(error).__name__}: {error}", lines.take())
    return dict(produced or {})


def _seconds_since(when: datetime | None) -> float:
    """Seconds from `when` (stored in UTC; SQLite gives it back naive) until now."""
    if when is None:
        return 0.0
    return max(0.0, (utcnow() - as_utc(when)).total_seconds())
