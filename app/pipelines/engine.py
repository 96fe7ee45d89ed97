"""Running pipelines: start a run, run one step, and advance the run when a step finishes.

`start_run` and `run_step` are the bodies of queue jobs and take ids only; the database says
where a run is. A step is durable work (`app.work`): claimed with a lease, beating while it
runs, taken over by the sweep when its worker's beats stop. A job that finishes a step goes
on with the next one ready itself (`app.work.chain`): dependent steps have no queue hop between.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import col

from app.db.models.base import utcnow
from app.db.models.pipelines import PipelineRun, RunState, StepRun, StepState
from app.logs import bind
from app.pipelines import reporting, runs
from app.pipelines.plan import Plan, StepView, plan
from app.pipelines.read_only import UNTRUSTED_WRITE, ReadOnlyProvider
from app.pipelines.step_context import (
    ai_service,
    render_env,
    run_secrets,
    step_context,
    template_context,
    token_scope,
    trusted,
    workspace,
)
from app.pipelines.supervise import Ended, supervise
from app.services import Services
from app.work.attempts import hold_attempt
from app.work.chain import has_room, keep_one, run_chain
from app.work.job_ids import job_id
from app.work.lease import worker_identity
from app.work.log_lines import LogLines
from steps.registry import STEP_TYPES
from steps.secret_refs import SecretError
from steps.templates import TemplateError, evaluate_condition, render_config, resolve_from

__all__ = ["CHAIN_BUDGET_SECONDS", "RUN_STEP", "advance", "run_step", "start_run", "step_job_id"]

log = logging.getLogger(__name__)

RUN_STEP = "run_step"

# How long one job goes on running the next ready step itself (app.work.chain) before it
# leaves the rest to the queue: a step kept late in a chain still has nearly all of arq's
# job_timeout (600 s, app/worker.py), and one hop a minute costs nothing.
CHAIN_BUDGET_SECONDS = 60.0


def step_job_id(step_id: int, attempt: int) -> str:
    """A new id on every call: a retry's enqueue must not meet an earlier attempt's result."""
    return job_id("step", step_id, attempt)


async def start_run(services: Services, attempt: int, run_id: int) -> list[str]:
    """The job: queued → running, then run the first step ready in this same job (the others
    ready with it go to the queue), and each step that one makes ready, and so on."""

    async def start() -> str:
        bind(run=run_id)
        if not await runs.move_run(
            services.sessions, run_id, RunState.RUNNING, started_at=utcnow()
        ):
            return "skipped: not queued"  # a duplicate job, or the run was cancelled
        await advance(services, run_id)
        return "started"

    return await _chain(services, attempt, start)


async def _chain(
    services: Services, attempt: int, first: Callable[[], Awaitable[str]]
) -> list[str]:
    """`first()`, then each step it (and each after it) kept for this job: see app.work.chain."""

    async def then(ready: _Ready) -> str:
        return await _run_step(services, attempt, ready.step_id, known=ready.loaded)

    return await run_chain(first, then, budget=CHAIN_BUDGET_SECONDS)


@dataclass(frozen=True)
class _Ready:
    """A step made ready, with the run as the job that made it ready read it (`loaded.claimed`
    is this step when that same transaction claimed it for the job)."""

    step_id: int
    loaded: runs.Loaded | None


async def advance(
    services: Services,
    run_id: int,
    loaded: runs.Loaded | None = None,
    *,
    after: str | None = None,
) -> None:
    """Skip what cannot run, start what can, and finish the run when nothing is left.

    After step `after` finished, only the steps it made ready start (the others ready were started
    before): the first runs next in this job when it runs a chain, the others go to the queue.
    Without `after` (a run starting, or recovery), every step ready is enqueued."""
    sessions = services.sessions
    loaded = loaded or await runs.load(sessions, run_id)
    if loaded is None or loaded.run.state != RunState.RUNNING:
        return
    decision, ready = _decide(loaded, after)
    by_name = {step.name: step for step in loaded.steps}
    for name, reason in decision.skip.items():
        await runs.move_step(
            sessions, _id(by_name[name]), StepState.SKIPPED, error=reason, finished_at=utcnow()
        )
    # A step the finishing transaction claimed for this job is running now, so the plan does
    # not start it again: it goes first, for this job to run next.
    claimed = [step for step in loaded.steps if step.id == loaded.claimed]
    ready = claimed + [step for step in ready if step.id != loaded.claimed]
    handed = {_id(step): step for step in ready}
    ready_now = [_Ready(_id(step), loaded) for step in ready]
    for queued in keep_one(ready_now, claimed=bool(claimed)):
        attempt = handed[queued.step_id].attempts + 1
        await services.queue.enqueue(
            RUN_STEP, queued.step_id, job_id=step_job_id(queued.step_id, attempt)
        )
    if decision.outcome is not None and await runs.move_run(
        sessions, run_id, decision.outcome, finished_at=utcnow()
    ):
        finished = await runs.get_run(sessions, run_id)
        assert finished is not None
        await reporting.report_run(services, finished)
        await asyncio.to_thread(shutil.rmtree, workspace(services, run_id), ignore_errors=True)


def _decide(loaded: runs.Loaded, after: str | None) -> tuple[Plan, list[StepRun]]:
    """The plan for the run as loaded, and the steps it starts (after step `after` finished:
    only those that needed it; the others ready were started before)."""
    specs = {spec["name"]: spec for spec in loaded.run.spec.get("steps", [])}
    decision = plan([step_view(step, specs.get(step.name, {})) for step in loaded.steps])
    by_name = {step.name: step for step in loaded.steps}
    ready = [
        step
        for step in (by_name[name] for name in decision.start)
        if after is None or after in step.needs
    ]
    return decision, ready


def _next_for_this_job(after: str) -> Callable[[runs.Loaded], int | None]:
    """Once step `after` finished: the first step it made ready, if this job's chain has room
    for it (then the transaction that ends `after` claims it too)."""

    def pick(loaded: runs.Loaded) -> int | None:
        if loaded.run.state != RunState.RUNNING or not has_room():
            return None
        _, ready = _decide(loaded, after)
        return ready[0].id if ready else None

    return pick


def step_view(step: StepRun, spec: dict[str, Any]) -> StepView:
    """What planning needs to know of a step row."""
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


async def run_step(services: Services, attempt: int, step_id: int) -> list[str]:
    """The job: run the step, then the step it made ready that this job kept, and so on."""
    return await _chain(services, attempt, lambda: _run_step(services, attempt, step_id))


async def _run_step(
    services: Services, attempt: int, step_id: int, *, known: runs.Loaded | None = None
) -> str:
    """One step, unless an attempt of it still runs on this machine (app.work.attempts: a
    take-over never runs beside it; a later sweep tries again)."""
    attempts = Path(services.settings.data_dir) / "attempts"
    with hold_attempt(attempts, f"step-{step_id}") as held:
        if not held:
            return "skipped: an attempt of it still runs on this machine"
        return await _attempt_step(services, attempt, step_id, known)


async def _attempt_step(
    services: Services, attempt: int, step_id: int, known: runs.Loaded | None
) -> str:
    """One attempt of a step: claim it, decide `if:`, render its config, run it, record the
    outcome; or nothing more if it lost the step to another attempt meanwhile."""
    lease = timedelta(seconds=services.settings.step_lease_seconds)
    if known is not None and known.claimed == step_id:
        claimed: runs.Loaded | None = known  # the transaction that made it ready claimed it
    else:
        claimed = await runs.claim_step(
            services.sessions, step_id, lease=lease, owner=worker_identity(), known=known
        )
    if claimed is None:
        return "skipped: not pending"
    run, step = claimed.run, claimed.step(step_id)
    bind(run=run.id, step=step.name)
    if run.cancel_requested:
        await _finish(services, run, step, StepState.CANCELLED, error="run cancelled")
        return "cancelled"
    spec = _step_spec(run, step.name)
    outputs = {s.name: s.outputs for s in claimed.steps if s.state == StepState.SUCCEEDED}
    masker = services.mask.child()
    names = template_context(run, outputs)
    try:
        condition = spec.get("if")
        if condition and not evaluate_condition(condition, names):
            await _finish(services, run, step, StepState.SKIPPED, log="skipped: `if:` is false\n")
            return "skipped"
        secrets = run_secrets(services, run, masker)
        env = await render_env(run.spec.get("env", {}), spec.get("env", {}), names, secrets)
        step_type = STEP_TYPES[step.type]
        rendered = render_config(spec.get("config", {}), names, verbatim=step_type.Config.verbatim)
        config = step_type.Config.model_validate(resolve_from(rendered, outputs))
    except (TemplateError, ValidationError, SecretError, KeyError) as error:
        message = masker(f"configuration: {error}")
        await _finish(services, run, step, StepState.FAILED, error=message)
        return "failed"
    provider = services.providers(run.provider, run.installation_id, token_scope(run))
    if not trusted(run):
        provider = ReadOnlyProvider(provider, UNTRUSTED_WRITE)
    lines = LogLines(masker)
    try:
        ai = await ai_service(services, run, config, masker)
    except SecretError as error:  # ANTHROPIC_API_KEY is a reference that cannot be read now
        return await _failed(services, run, step, spec, masker(str(error)), "")
    step_ctx = step_context(services, run, step, provider, names, env, secrets, lines, ai=ai)
    work = step_type.run(step_ctx, config)
    ended = await supervise(services, run, step, spec, work, lines)
    if ended is None:
        return "fenced: the step is another attempt's now"
    if isinstance(ended, Ended):
        if ended.state is StepState.FAILED:
            return await _failed(services, run, step, spec, masker(ended.message), ended.lines)
        await _finish(services, run, step, ended.state, error=ended.message, log=ended.lines)
        return str(ended.state)
    await _finish(
        services, run, step, StepState.SUCCEEDED, outputs=masker.mask_json(ended), log=lines.take()
    )
    return "succeeded"


async def _failed(
    services: Services,
    run: PipelineRun,
    step: StepRun,
    spec: dict[str, Any],
    message: str,
    lines: str,
) -> str:
    """Retry the step if it has retries left (with backoff), else fail it."""
    if step.attempts <= int(spec.get("retries", 0)):
        note = f"attempt {step.attempts} failed: {message}; retrying\n"
        await runs.move_step(
            services.sessions,
            _id(step),
            StepState.PENDING,
            error=message,
            log=col(StepRun.log) + lines + note,
        )
        await services.queue.enqueue(
            RUN_STEP,
            _id(step),
            job_id=step_job_id(_id(step), step.attempts + 1),
            defer=min(60.0, 2.0 ** (step.attempts - 1)),
        )
        return "retrying"
    await _finish(services, run, step, StepState.FAILED, error=message, log=lines)
    return "failed"


async def _finish(
    services: Services,
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
    lease = timedelta(seconds=services.settings.step_lease_seconds)
    loaded = await runs.finish_step(
        services.sessions,
        _id(step),
        run.id or 0,
        state,
        log=log,
        then=runs.ClaimNext(_next_for_this_job(step.name), lease, worker_identity()),
        error=error,
        outputs=outputs or {},
    )
    await advance(services, run.id or 0, loaded, after=step.name)


def _step_spec(run: PipelineRun, name: str) -> dict[str, Any]:
    for spec in run.spec.get("steps", []):
        if spec.get("name") == name:
            return dict(spec)
    raise KeyError(f"step {name!r} is not in the run's pipeline")
