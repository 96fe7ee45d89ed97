"""`trigger_ci`: start the host's CI (a GitHub / Gitea workflow, a GitLab pipeline), maybe wait."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from providers.errors import ProviderError
from providers.vocabulary import WorkflowRun
from steps.base import StepConfig, StepContext, StepFailed
from steps.ci import (
    Clock,
    Sleep,
    deadline_for,
    finish,
    poll_run,
    read_run,
    real_clock,
    real_sleep,
    run_outputs,
)
from steps.config_types import Duration


class TriggerCiConfig(StepConfig):
    """`workflow` is the workflow file or id (GitHub, Gitea); GitLab ignores it: a project has
    one pipeline definition, and `inputs` become its variables. `ref` defaults to the run's
    ref, else its sha."""

    workflow: str = Field(min_length=1)
    ref: str | None = None
    inputs: dict[str, str] = Field(default_factory=dict)
    wait: bool = False
    timeout: Duration = 1800.0
    poll_interval: Duration = 10.0


class TriggerCi:
    """Trigger once, recording the run id at once: a retried attempt follows that run instead
    of starting another. With `wait`, fail unless the run succeeds before the timeout."""

    type_name: ClassVar[str] = "trigger_ci"
    Config: ClassVar[type[StepConfig]] = TriggerCiConfig

    def __init__(self, *, sleep: Sleep = real_sleep, clock: Clock = real_clock) -> None:
        self._sleep = sleep
        self._clock = clock

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        if not isinstance(config, TriggerCiConfig):
            raise TypeError(f"trigger_ci needs a TriggerCiConfig, not {type(config).__name__}")
        run: WorkflowRun | None = None
        run_id = ctx.recorded.get("run_id")
        if run_id is None:
            run = await _trigger(ctx, config)
            run_id = run.id
        else:
            ctx.log(f"CI run {run_id} was triggered by an earlier attempt; following it")
        if not config.wait:
            return run_outputs(run if run is not None else await read_run(ctx, run_id))
        deadline = await deadline_for(ctx, config.timeout, self._clock)
        run = await poll_run(
            ctx,
            run_id,
            deadline=deadline,
            poll_interval=config.poll_interval,
            sleep=self._sleep,
            clock=self._clock,
        )
        return finish(ctx, run)


async def _trigger(ctx: StepContext, config: TriggerCiConfig) -> WorkflowRun:
    ref = _dispatch_ref(config.ref or ctx.run.ref or ctx.run.sha)
    if ref is None:
        raise StepFailed("trigger_ci needs a ref: this run has no ref or sha; set `ref:`")
    try:
        run = await ctx.provider.trigger_workflow(ctx.run.repo, config.workflow, ref, config.inputs)
    except ProviderError as error:
        if error.retryable:
            raise  # the job is retried; nothing was recorded
        raise StepFailed(f"could not trigger {config.workflow} at {ref}: {error}") from error
    await ctx.record("run_id", run.id)
    ctx.log(f"triggered {config.workflow} at {ref}: CI run {run.id} {run.url or ''}".rstrip())
    return run


def _dispatch_ref(ref: str | None) -> str | None:
    """Hosts dispatch on a branch or tag name: `refs/heads/main` becomes `main`."""
    if ref is None:
        return None
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ref


step = TriggerCi()
