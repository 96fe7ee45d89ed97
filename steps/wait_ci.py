"""`wait_ci`: wait for a CI run (often one `trigger_ci` started) and fail unless it succeeds."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from steps.base import StepConfig, StepContext
from steps.ci import (
    Clock,
    Sleep,
    deadline_for,
    finish,
    poll_ci_run,
    poll_run,
    real_clock,
    real_sleep,
)
from steps.config_types import Duration


class WaitCiConfig(StepConfig):
    """`run_id` is the host's run (GitLab: pipeline) id; the engine fills it from
    `run_id_from: <step>.run_id` before validation. With `integration`, the run is one on
    that CI integration (the id its `trigger_ci` step gave: a Jenkins `queue:…` or `build:…`,
    a host's `owner/name#run`)."""

    run_id: str | int
    timeout: Duration = 1800.0
    poll_interval: Duration = 10.0
    integration: str | None = Field(default=None, min_length=1)

    @field_validator("run_id")
    @classmethod
    def _not_blank(cls, value: str | int) -> str | int:
        if isinstance(value, str) and not value.strip():
            raise ValueError("run_id is empty: did the step named in run_id_from give one?")
        return value


class WaitCi:
    """Poll the run until it finishes; the deadline is recorded, so a retry keeps it (and,
    on an integration, the run's newest id: a Jenkins queue item's build)."""

    type_name: ClassVar[str] = "wait_ci"
    Config: ClassVar[type[StepConfig]] = WaitCiConfig

    def __init__(self, *, sleep: Sleep = real_sleep, clock: Clock = real_clock) -> None:
        self._sleep = sleep
        self._clock = clock

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        if not isinstance(config, WaitCiConfig):
            raise TypeError(f"wait_ci needs a WaitCiConfig, not {type(config).__name__}")
        deadline = await deadline_for(ctx, config.timeout, self._clock)
        if config.integration is not None:
            run_id = ctx.recorded.get("run_id") or config.run_id
            run = await poll_ci_run(
                ctx,
                config.integration,
                str(run_id),
                deadline=deadline,
                poll_interval=config.poll_interval,
                sleep=self._sleep,
                clock=self._clock,
            )
            return {**finish(ctx, run), "integration": config.integration}
        run = await poll_run(
            ctx,
            config.run_id,
            deadline=deadline,
            poll_interval=config.poll_interval,
            sleep=self._sleep,
            clock=self._clock,
        )
        return finish(ctx, run)


step = WaitCi()
