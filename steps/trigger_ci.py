"""`trigger_ci`: start the host's CI (a GitHub / Gitea workflow, a GitLab pipeline), or a build on
a CI integration the server registered (Jenkins, a host's CI), and maybe wait for it."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import Field, model_validator

from providers.errors import ProviderError
from providers.vocabulary import WorkflowRun
from steps.base import StepConfig, StepContext, StepFailed
from steps.ci import (
    Clock,
    Sleep,
    as_workflow_run,
    ci_systems,
    deadline_for,
    finish,
    poll_ci_run,
    poll_run,
    read_ci_run,
    read_run,
    real_clock,
    real_sleep,
    run_outputs,
)
from steps.config_types import Duration
from steps.integrations import CiTrigger, IntegrationFailed


class TriggerCiConfig(StepConfig):
    """`workflow` is the workflow file or id (GitHub, Gitea); GitLab ignores it: a project has
    one pipeline definition, and `inputs` become its variables. `ref` defaults to the run's
    ref, else its sha.

    With `integration` (a `ci` integration the server registered), the build runs there:
    `workflow` is the Jenkins job (`folder/job`) or the workflow file, `inputs` its parameters;
    `ref` (a host's CI only) defaults to the repository's default branch, and `repository`
    names another repository than the integration's own."""

    workflow: str = Field(min_length=1)
    ref: str | None = None
    inputs: dict[str, str] = Field(default_factory=dict)
    wait: bool = False
    timeout: Duration = 1800.0
    poll_interval: Duration = 10.0
    integration: str | None = Field(default=None, min_length=1)
    repository: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _repository_needs_integration(self) -> Self:
        if self.repository is not None and self.integration is None:
            raise ValueError(
                "repository is for a CI integration's builds (with integration:); the "
                "run's own CI runs in the run's repository"
            )
        return self


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
        if config.integration is not None:
            return await self._on_integration(ctx, config, config.integration)
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

    async def _on_integration(
        self, ctx: StepContext, config: TriggerCiConfig, integration: str
    ) -> dict[str, Any]:
        run: WorkflowRun | None = None
        run_id = ctx.recorded.get("run_id")
        if run_id is None:
            run = await _trigger_on(ctx, config, integration)
            run_id = run.id
        else:
            ctx.log(f"CI run {run_id} was triggered by an earlier attempt; following it")
        if not config.wait:
            if run is None:
                run = await read_ci_run(ctx, integration, str(run_id))
            return {**run_outputs(run), "integration": integration}
        deadline = await deadline_for(ctx, config.timeout, self._clock)
        run = await poll_ci_run(
            ctx,
            integration,
            str(run_id),
            deadline=deadline,
            poll_interval=config.poll_interval,
            sleep=self._sleep,
            clock=self._clock,
        )
        return {**finish(ctx, run), "integration": integration}


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


async def _trigger_on(ctx: StepContext, config: TriggerCiConfig, integration: str) -> WorkflowRun:
    request = CiTrigger(
        job=config.workflow,
        ref=_dispatch_ref(config.ref),
        inputs=dict(config.inputs),
        repository=config.repository,
    )
    try:
        started = await ci_systems(ctx, integration).trigger(integration, request)
    except IntegrationFailed as error:
        raise StepFailed(f"could not trigger {config.workflow}: {error}") from error
    await ctx.record("run_id", started.id)
    run = as_workflow_run(started)
    where = f" {run.url}" if run.url else ""
    ctx.log(f"triggered {config.workflow} on {integration}: CI run {run.id}{where}")
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
