"""Running pipelines: start a run, run one step, and advance the run when a step finishes.

Each function is the body of a queue job and takes ids only; the database says where a run is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import col

from app.models import PipelineRun, RunState, StepRun, StepState, utcnow
from app.pipelines import reporting, runs
from app.pipelines.plan import StepView, plan
from app.secrets import SecretError, resolve_secret
from jobqueue.context import JobContext
from providers.base import Provider
from providers.errors import ProviderError
from providers.vocabulary import Repo
from steps.base import RunInfo, StepContext, StepFailed
from steps.masking import Masker
from steps.registry import STEP_TYPES
from steps.templates import (
    TemplateError,
    build_context,
    evaluate_condition,
    render_config,
    render_value,
    resolve_from,
)

log = logging.getLogger(__name__)


def step_job_id(step_id: int, attempt: int) -> str:
    return f"step:{step_id}:{attempt}"


def workspace(ctx: JobContext, run_id: int) -> Path:
    """Where a run's steps work (the checkout is `src` inside). Steps of one run share it, so
    with workers on several machines SHIPYARD_DATA_DIR must be shared storage."""
    return Path(ctx["settings"].data_dir) / "workspaces" / str(run_id)


async def start_run(ctx: JobContext, run_id: int) -> str:
    """queued → running, then start the first steps."""
    await runs.move_run(ctx["sessions"], run_id, RunState.RUNNING, started_at=utcnow())
    await advance(ctx, run_id)
    return "started"


async def advance(ctx: JobContext, run_id: int, loaded: runs.Loaded | None = None) -> None:
    """Skip what cannot run, enqueue what can, and finish the run when nothing is left."""
    sessions = ctx["sessions"]
    loaded = loaded or await runs.load(sessions, run_id)
    if loaded is None or loaded.run.state != RunState.RUNNING:
        return
    specs = {spec["name"]: spec for spec in loaded.run.spec.get("steps", [])}
    decision = plan([_view(step, specs.get(step.name, {})) for step in loaded.steps])
    by_name = {step.name: step for step in loaded.steps}
    for name, reason in decision.skip.items():
        await runs.move_step(
            sessions, _id(by_name[name]), StepState.SKIPPED, error=reason, finished_at=utcnow()
        )
    for name in decision.start:
        step = by_name[name]
        await ctx["queue"].enqueue(
            "run_step", _id(step), job_id=step_job_id(_id(step), step.attempts + 1)
        )
    if decision.outcome is not None and await runs.move_run(
        sessions, run_id, decision.outcome, finished_at=utcnow()
    ):
        finished = await runs.get_run(sessions, run_id)
        assert finished is not None
        await reporting.report_run(ctx, finished)
        await asyncio.to_thread(shutil.rmtree, workspace(ctx, run_id), ignore_errors=True)


def _view(step: StepRun, spec: dict[str, Any]) -> StepView:
    state = StepState(step.state)
    return StepView(
        name=step.name,
        state=state,
        needs=tuple(step.needs),
        continue_on_error=bool(spec.get("continue_on_error")),
        blocked=state is StepState.SKIPPED and step.error is not None,  # see _finish
    )


def _id(step: StepRun) -> int:
    assert step.id is not None
    return step.id


async def run_step(ctx: JobContext, step_id: int) -> str:
    """Run one step: claim it, decide `if:`, render its config, run it, record the outcome."""
    settings, sessions = ctx["settings"], ctx["sessions"]
    claimed = await runs.claim_step(
        sessions, step_id, lease=timedelta(seconds=settings.step_lease_seconds)
    )
    if claimed is None:
        return "skipped: not pending"
    run, step = claimed.run, claimed.step(step_id)
    if run.cancel_requested:
        await _finish(ctx, run, step, StepState.CANCELLED, error="run cancelled")
        return "cancelled"
    spec = _step_spec(run, step.name)
    outputs = {s.name: s.outputs for s in claimed.steps if s.state == StepState.SUCCEEDED}
    masker = _masker(ctx)
    event = run.event or {}
    template = build_context(
        event=event,
        repo=event.get("repository") or {"full_name": run.repository},
        pull_request=event.get("pull_request"),
        release=event.get("release"),
        env=run.spec.get("env", {}),
        vars=run.spec.get("vars", {}),
        step_outputs=outputs,
    )
    try:
        condition = spec.get("if")
        if condition and not evaluate_condition(condition, template):
            await _finish(ctx, run, step, StepState.SKIPPED, log="skipped: `if:` is false\n")
            return "skipped"
        env = _env(run.spec.get("env", {}), spec.get("env", {}), template, masker)
        step_type = STEP_TYPES[step.type]
        verbatim = step_type.Config.verbatim
        config = resolve_from(
            render_config(spec.get("config", {}), template, verbatim=verbatim), outputs
        )
        typed = step_type.Config.model_validate(config)
    except (TemplateError, ValidationError, SecretError, KeyError) as error:
        await _finish(ctx, run, step, StepState.FAILED, error=masker(f"configuration: {error}"))
        return "failed"
    provider = ctx["providers"](run.provider, run.installation_id)
    lines = _Log(masker)
    context = _context(ctx, run, step, provider, template, env, masker, lines)
    try:
        produced = await _supervise(ctx, run, step, spec, step_type.run(context, typed), lines)
    except _Ended as ended:
        if ended.state is StepState.FAILED:
            return await _failed(ctx, run, step, spec, ended.message, ended.lines)
        await _finish(ctx, run, step, ended.state, error=ended.message, log=ended.lines)
        return str(ended.state)
    await _finish(
        ctx, run, step, StepState.SUCCEEDED, outputs=masker.mask_json(produced), log=lines.take()
    )
    return "succeeded"


class _Ended(Exception):
    """The step ended otherwise than by succeeding: its state, why, and unsaved log lines."""

    def __init__(self, state: StepState, message: str, lines: str) -> None:
        super().__init__(message)
        self.state, self.message, self.lines = state, message, lines


class _Log:
    """Masked log lines waiting for the next heartbeat to store them."""

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._lines: list[str] = []

    def write(self, line: str) -> None:
        self._lines.append(self._masker(line.rstrip("\n")) + "\n")

    def mask(self, text: str) -> str:
        return self._masker(text)

    def take(self) -> str:
        text, self._lines = "".join(self._lines), []
        return text


def _context(
    ctx: JobContext,
    run: PipelineRun,
    step: StepRun,
    provider: Provider,
    template: dict[str, Any],
    env: dict[str, str],
    masker: Masker,
    lines: _Log,
) -> StepContext:
    settings, sessions = ctx["settings"], ctx["sessions"]
    run_id, step_id = run.id or 0, _id(step)
    directory = workspace(ctx, run_id)
    directory.mkdir(parents=True, exist_ok=True)

    async def keep(key: str, value: Any) -> None:
        await runs.record(sessions, step_id, key, value)

    return StepContext(
        run=RunInfo(
            id=run_id,
            pipeline=run.pipeline,
            provider=run.provider,
            repo=Repo(run.repository),
            sha=run.sha,
            ref=run.ref,
            pr_number=run.pr_number,
            page_url=reporting.run_url(settings, run_id),
        ),
        name=step.name,
        attempt=step.attempts,
        provider=provider,
        settings=settings,
        workspace=directory,
        template=template,
        env=env,
        log=lines.write,
        mask=masker,
        record=keep,
        recorded=step.recorded,
    )


async def _supervise(
    ctx: JobContext,
    run: PipelineRun,
    step: StepRun,
    spec: dict[str, Any],
    work: Any,
    lines: _Log,
) -> dict[str, Any]:
    """Run the step's coroutine under its timeout; while it runs, beat (storing its log lines)
    and stop it when the run is cancelled. Lines not stored yet stay in `lines`."""
    settings, sessions = ctx["settings"], ctx["sessions"]
    task = asyncio.create_task(work)
    cancelled = False
    timeout = spec.get("timeout_seconds")
    deadline = asyncio.get_running_loop().time() + timeout if timeout else None
    while not task.done():
        await asyncio.wait({task}, timeout=settings.heartbeat_seconds)
        if task.done():
            break  # a quick step needs no heartbeat: its lines are stored when it finishes
        if await runs.beat(sessions, _id(step), run.id or 0, lines.take()):
            cancelled = True
            task.cancel()
        elif deadline is not None and asyncio.get_running_loop().time() > deadline:
            task.cancel()
    if cancelled:
        with contextlib.suppress(BaseException):
            await task
        raise _Ended(StepState.CANCELLED, "run cancelled", lines.take())
    try:
        return dict(task.result() or {})
    except asyncio.CancelledError:
        raise _Ended(StepState.FAILED, f"timed out after {timeout:g} s", lines.take()) from None
    except (StepFailed, ProviderError, SecretError, TemplateError) as error:
        raise _Ended(StepState.FAILED, lines.mask(str(error)), lines.take()) from None
    except Exception as error:
        log.exception("step %s raised", step.name)
        message = lines.mask(f"unexpected {type(error).__name__}: {error}")
        raise _Ended(StepState.FAILED, message, lines.take()) from None


async def _failed(
    ctx: JobContext, run: PipelineRun, step: StepRun, spec: dict[str, Any], message: str, lines: str
) -> str:
    """Retry the step if it has retries left (with backoff), else fail it."""
    if step.attempts <= int(spec.get("retries", 0)):
        note = f"attempt {step.attempts} failed: {message}; retrying\n"
        await runs.move_step(
            ctx["sessions"],
            _id(step),
            StepState.PENDING,
            error=message,
            log=col(StepRun.log) + lines + note,
        )
        await ctx["queue"].enqueue(
            "run_step",
            _id(step),
            job_id=step_job_id(_id(step), step.attempts + 1),
            defer=min(60.0, 2.0 ** (step.attempts - 1)),
        )
        return "retrying"
    await _finish(ctx, run, step, StepState.FAILED, error=message, log=lines)
    return "failed"


async def _finish(
    ctx: JobContext,
    run: PipelineRun,
    step: StepRun,
    state: StepState,
    *,
    error: str | None = None,
    outputs: dict[str, Any] | None = None,
    log: str = "",
) -> None:
    """Record the step's end, then advance the run. A skip carries an error only when a need
    blocked it (planning tells the two apart by that)."""
    if error:
        log += f"{state}: {error}\n"
    loaded = await runs.finish_step(
        ctx["sessions"],
        _id(step),
        run.id or 0,
        state,
        log=log,
        error=error,
        outputs=outputs or {},
    )
    await advance(ctx, run.id or 0, loaded)


def _step_spec(run: PipelineRun, name: str) -> dict[str, Any]:
    for spec in run.spec.get("steps", []):
        if spec.get("name") == name:
            return dict(spec)
    raise KeyError(f"step {name!r} is not in the run's pipeline")


def _masker(ctx: JobContext) -> Masker:
    """Masks every secret Shipyard itself holds; steps add the ones they resolve."""
    settings = ctx["settings"]
    secrets = [
        secret.get_secret_value()
        for secret in (
            settings.github_token,
            settings.gitlab_token,
            settings.gitea_token,
            settings.github_private_key,
            settings.anthropic_api_key,
            settings.github_webhook_secret,
            settings.gitlab_webhook_secret,
            settings.gitea_webhook_secret,
        )
        if secret is not None
    ]
    return Masker(secrets)


def _env(
    pipeline_env: dict[str, str], step_env: dict[str, str], template: dict[str, Any], masker: Masker
) -> dict[str, str]:
    """The pipeline's and step's `env:`, rendered; `env://NAME` values are secrets, masked."""
    env: dict[str, str] = {}
    for key, value in {**pipeline_env, **step_env}.items():
        if isinstance(value, str) and value.startswith(("env://", "vault://")):
            env[key] = resolve_secret(value)
            masker.add(env[key])
        else:
            env[key] = str(render_value(value, template))
    return env
