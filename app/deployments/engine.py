"""Running deployment jobs: the two queue jobs, and advancing a job when its tasks move.

`advance_deployment` takes a job its next step, whatever state the database says it is in:
its turn at the environment (queued → pending), preparing (files, plan, tasks), the tasks of
its waves, completing, ending (the final report, and the environment handed to the next job
waiting). `run_deployment_task` runs one task as durable work (`app.work`): claimed with a
lease, beating, taken over when its worker's beats stop. A job that ends a task goes on with
the next one ready itself (`app.work.chain`); the others ready with it go to the queue.

A task taken over after its worker died while it was acting on its target (`running`) is run
again only when the target is `--idempotent`; otherwise it fails as interrupted and the job
follows its failure policy: a deploy that may have half-happened is never repeated blindly.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import timedelta
from pathlib import Path

from app.db.models.base import utcnow
from app.db.models.deployments import (
    FINISHED_JOB_STATES,
    DeploymentJob,
    DeploymentTask,
    JobKind,
    JobState,
    TaskKind,
    TaskState,
)
from app.deployments import jobs, tasks
from app.deployments.execute import TaskWork, run_task_work
from app.deployments.prepare import Prepared, artifacts_for, prepare
from app.deployments.progress import Moves, Outcome, TaskView, next_moves, rollback_moves
from app.deployments.queueing import enqueue_advance, enqueue_task
from app.deployments.reporting import (
    report_ended,
    report_preparing,
    report_progress,
    report_queue_moved,
    report_rollback,
    report_started,
)
from app.deployments.snapshot import JobSpec, ReleaseView, release_view
from app.deployments.strategies import Wave
from app.deployments.supervise import supervise
from app.deployments.task_run import job_workspaces
from app.environments.config import BlueGreen
from app.logs import bind
from app.releases import store as releases
from app.services import Services
from app.work.attempts import hold_attempt
from app.work.chain import keep_one, run_chain
from app.work.foreign import foreign_job
from app.work.lease import worker_identity
from app.work.log_lines import LogLines

__all__ = ["CHAIN_BUDGET_SECONDS", "advance", "advance_deployment", "run_deployment_task"]

log = logging.getLogger(__name__)

# How long one queue job goes on running the next ready task itself before it leaves the rest
# to the queue (as for pipeline steps).
CHAIN_BUDGET_SECONDS = 60.0
RETRY_DELAY_SECONDS = 5.0
_ACTS = (TaskKind.DEPLOY, TaskKind.ROLLBACK, TaskKind.SWITCH)


def _lease(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.step_lease_seconds)


async def advance_deployment(services: Services, _attempt: int, job_id: int) -> list[str]:
    """The job: take the job its next step (see the module's docstring), then run the tasks
    that step made ready that this job kept, one after another."""

    async def then(task_id: int) -> str:
        return await _run_task(services, task_id)

    return await run_chain(
        lambda: _advance_job(services, job_id), then, budget=CHAIN_BUDGET_SECONDS
    )


async def run_deployment_task(services: Services, _attempt: int, task_id: int) -> list[str]:
    """The job: run the task, then the next one it made ready that this job kept, and so on."""

    async def then(next_id: int) -> str:
        return await _run_task(services, next_id)

    return await run_chain(lambda: _run_task(services, task_id), then, budget=CHAIN_BUDGET_SECONDS)


async def _advance_job(services: Services, job_id: int) -> str:
    bind(deployment=job_id, task=None)
    sessions = services.sessions
    job = await jobs.get_job(sessions, job_id)
    if job is None:
        return foreign_job("deployment job", job_id)
    state = JobState(job.state)
    if state is JobState.QUEUED:
        if not await jobs.take_turn(sessions, job):
            return "waiting its turn"  # the job holding the environment hands it on
        state = JobState.PENDING
    if state is JobState.PENDING:
        if not await jobs.move_job(sessions, job_id, JobState.PREPARING, started_at=utcnow()):
            return "skipped: not pending"
        return await _prepare_and_start(services, job_id)
    if state is JobState.PREPARING:
        stale = utcnow() - _lease(services)
        if not await jobs.take_over(sessions, job_id, JobState.PREPARING, older_than=stale):
            return "skipped: being prepared"
        return await _prepare_and_start(services, job_id)
    if state in (JobState.RUNNING, JobState.ROLLING_BACK):
        await advance(services, job_id)
        return "advanced"
    if state is JobState.COMPLETING:
        await _complete(services, job_id)
        return "completed"
    if state in FINISHED_JOB_STATES:
        await _ended(services, job_id)
        return f"ended: {state}"
    return f"skipped: {state}"


async def _prepare_and_start(services: Services, job_id: int) -> str:
    sessions = services.sessions
    job = await jobs.get_job(sessions, job_id)
    assert job is not None
    if job.cancel_requested:
        await _end_job(services, job_id, JobState.CANCELLED)
        return "cancelled"
    await report_preparing(services, job)
    job = await jobs.get_job(sessions, job_id) or job
    try:
        await prepare(services, job)
    except Prepared as error:
        await _end_job(services, job_id, JobState.FAILED, error=str(error))
        return "failed"
    if not await jobs.move_job(sessions, job_id, JobState.RUNNING):
        return "skipped: no longer preparing"
    started = await jobs.get_job(sessions, job_id)
    assert started is not None
    await report_started(services, started)
    await advance(services, job_id)
    return "started"


async def advance(services: Services, job_id: int, known: tasks.Progress | None = None) -> None:
    """Start what can start, cancel what never will, and end the job when nothing is left
    (`progress`). The first task it starts runs next in this job when it runs a chain."""
    sessions = services.sessions
    known = known or await tasks.progress(sessions, job_id)
    if known is None or known.job.state not in (JobState.RUNNING, JobState.ROLLING_BACK):
        return
    job, views = known.job, known.tasks
    if job.cancel_requested:
        await _cancel_running(services, job, views)
        return
    if job.state == JobState.RUNNING:
        moves = next_moves([Wave.from_json(w) for w in job.plan], views)
    else:
        moves = rollback_moves(views)
    if moves.cancel:
        why = f"not started: {moves.reason or 'the deployment stopped'}"
        await tasks.move_tasks(sessions, moves.cancel, TaskState.CANCELLED, error=why)
    started = await tasks.start_tasks(sessions, moves.start)
    if job.pr_number is not None and _opens_a_wave(views, started):
        await report_progress(services, job)
    for task_id in keep_one(started):
        await enqueue_task(services, task_id, 1)
    if moves.outcome is not None:
        await _conclude(services, job, moves)


def _opens_a_wave(views: list[TaskView], started: list[int]) -> bool:
    """Whether the tasks just started begin a wave (after the first, which the job's start
    reports) none of whose tasks had begun: the moment a pull request's live comment says where
    the deployment is now."""
    ids = set(started)
    waves = {view.wave for view in views if view.id in ids} - {0}
    return any(
        all(v.state == TaskState.PENDING or v.id in ids for v in views if v.wave == wave)
        for wave in waves
    )


async def _cancel_running(services: Services, job: DeploymentJob, views: list[TaskView]) -> None:
    """A cancelled job: tasks not started never start; once none is in flight, it ends."""
    waiting = [t.id for t in views if t.state in (TaskState.PENDING, TaskState.QUEUED)]
    waiting += [t.id for t in views if t.state is TaskState.RETRYING]
    await tasks.move_tasks(
        services.sessions, waiting, TaskState.CANCELLED, error="the deployment was cancelled"
    )
    acting = {TaskState.DISPATCHED, TaskState.RUNNING, TaskState.VERIFYING}
    if not any(t.state in acting for t in views):
        await _end_job(services, job.id or 0, JobState.CANCELLED)


async def _conclude(services: Services, job: DeploymentJob, moves: Moves) -> None:
    job_id = job.id or 0
    if moves.outcome is Outcome.COMPLETED:
        if await jobs.move_job(services.sessions, job_id, JobState.COMPLETING):
            await _complete(services, job_id)
    elif moves.outcome is Outcome.ROLLED_BACK:
        await _end_job(services, job_id, JobState.ROLLED_BACK)
    elif job.state == JobState.ROLLING_BACK:
        why = f"{job.error or 'the deployment failed'}; {moves.reason}"
        await _end_job(services, job_id, JobState.FAILED, error=why)
    else:
        await _fail_or_roll_back(services, job, moves.reason or "the deployment failed")


async def _complete(services: Services, job_id: int) -> None:
    job = await jobs.get_job(services.sessions, job_id)
    assert job is not None
    colour = job.spec.get("live_colour")
    if colour is None:
        previous = await jobs.last_completed(
            services.sessions, job.provider, job.repository, job.environment, before_id=job_id
        )
        colour = previous.live_colour if previous else None
    await _end_job(services, job_id, JobState.COMPLETED, live_colour=colour)


async def _end_job(services: Services, job_id: int, state: JobState, **values: object) -> None:
    """End the job (if it still may be), then report it and hand the environment on."""
    await jobs.move_job(services.sessions, job_id, state, **values)
    await _ended(services, job_id)


async def _ended(services: Services, job_id: int) -> None:
    """An ended job's final report (once), and the environment's next job started."""
    job = await jobs.get_job(services.sessions, job_id)
    if job is None or job.state not in FINISHED_JOB_STATES:
        return
    await report_ended(services, job)
    await services.connections.close_job(job_id)
    await _remove(job_workspaces(services, job_id))
    waiting = await jobs.next_waiting(
        services.sessions, job.provider, job.repository, job.environment
    )
    if waiting is not None:
        await enqueue_advance(services, waiting)
        await report_queue_moved(services, job)


# --- failing and rolling back ------------------------------------------------------------


def _manual_hint(job: DeploymentJob) -> str:
    return (
        f"; roll back with `shipyard rollback --env {job.environment} --repo "
        f"{job.provider}:{job.repository}` or the deployment page's Roll back button"
    )


async def _fail_or_roll_back(services: Services, failed: DeploymentJob, reason: str) -> None:
    """A failed job rolls back when its environment says `rollback: auto` and there is
    something to put back; else it fails, saying how to roll back by hand."""
    job_id = failed.id or 0
    job = await jobs.get_job(services.sessions, job_id)  # with its spec, this time
    if job is None:
        return
    spec = JobSpec.of(job)
    if job.kind != JobKind.DEPLOY or spec.environment.rollback != "auto":
        hint = _manual_hint(job) if job.kind == JobKind.DEPLOY else ""
        await _end_job(services, job_id, JobState.FAILED, error=reason + hint)
        return
    loaded = await tasks.load(services.sessions, job_id)
    planned = await _plan_rollback(services, job, spec, loaded.tasks if loaded else [])
    if isinstance(planned, str):
        await _end_job(services, job_id, JobState.FAILED, error=f"{reason}; {planned}")
        return
    wave, new_tasks, previous = planned
    more_spec = {"rollback_release": previous.as_json()} if previous is not None else {}
    if not await tasks.begin_rollback(
        services.sessions, job_id, wave.as_json(), more_spec, new_tasks, error=reason
    ):
        return  # another attempt began it
    rolling = await jobs.get_job(services.sessions, job_id)
    assert rolling is not None
    await report_rollback(services, rolling, reason)
    await advance(services, job_id)


async def _plan_rollback(
    services: Services, job: DeploymentJob, spec: JobSpec, rows: list[DeploymentTask]
) -> tuple[Wave, list[tasks.NewTask], ReleaseView | None] | str:
    """The rollback wave and its tasks (and the release they put back), or why there is
    nothing to roll back. Each target a deploy task acted on gets back the digest that task
    replaced, all at once; blue-green switches traffic back to the colour that had it."""
    index = len(job.plan)
    strategy = spec.environment.strategy
    if isinstance(strategy, BlueGreen):
        switched = [t for t in rows if t.kind == TaskKind.SWITCH and t.attempts > 0]
        if not switched:
            return "traffic never moved off the live colour: nothing to roll back"
        previous_job = await jobs.last_completed(
            services.sessions, job.provider, job.repository, job.environment, before_id=job.id
        )
        colour = previous_job.live_colour if previous_job else None
        if colour is None:
            return "no colour had traffic before this deployment: nothing to switch back to"
        targets = strategy.blue if colour == "blue" else strategy.green
        wave = Wave(TaskKind.ROLLBACK, targets, colour=colour)
        return wave, [tasks.NewTask(wave=index, kind=TaskKind.ROLLBACK, targets=targets)], None
    if job.previous_release_id is None:
        return "there is no earlier good release to roll back to"
    release = await releases.get_release(services.sessions, job.previous_release_id)
    if release is None:
        return f"the earlier release {job.previous_release_id} is gone"
    previous = release_view(release, spec.environment.components)
    acted = [
        t
        for t in rows
        if t.kind == TaskKind.DEPLOY
        and (t.state == TaskState.SUCCEEDED or (t.state == TaskState.FAILED and t.attempts > 0))
    ]
    restorable = [t for t in acted if t.replaced_digest is not None]
    if not restorable:
        return "no target it changed had an earlier release from Shipyard to go back to"
    try:
        artifacts = await artifacts_for(services, job, spec, previous)
    except Prepared as error:
        return f"the rollback's files could not be made: {error}"
    await jobs.save_artifacts(services.sessions, job.id or 0, "rollback", artifacts)
    new = [
        tasks.NewTask(
            wave=index,
            kind=TaskKind.ROLLBACK,
            target=t.target,
            component=t.component,
            digest=t.replaced_digest,
            replaced_digest=t.digest,
            max_attempts=spec.environment.deploy.max_attempts,
        )
        for t in restorable
    ]
    targets = tuple(dict.fromkeys(t.target or "" for t in restorable))
    return Wave(TaskKind.ROLLBACK, targets), new, previous


# --- running a task -----------------------------------------------------------------------


async def _run_task(services: Services, task_id: int) -> str:
    """One task, unless an attempt of it still runs on this machine (a take-over never runs
    beside it; a later sweep tries again)."""
    attempts = Path(services.settings.data_dir) / "attempts"
    with hold_attempt(attempts, f"deployment-task-{task_id}") as held:
        if not held:
            return "skipped: an attempt of it still runs on this machine"
        return await _attempt_task(services, task_id)


async def _attempt_task(services: Services, task_id: int) -> str:
    sessions = services.sessions
    claimed = await tasks.claim_task(
        sessions, task_id, lease=_lease(services), owner=worker_identity()
    )
    if claimed is None:
        return "skipped: not ready"
    job, task = claimed
    bind(deployment=job.id, task=task_id)
    if job.cancel_requested or job.state not in (JobState.RUNNING, JobState.ROLLING_BACK):
        await _finish(services, job, task, TaskState.CANCELLED, "the deployment was cancelled")
        return "cancelled"
    spec = JobSpec.known(job)
    if spec is None or task.kind == TaskKind.ROLLBACK:  # the job as claimed lacks its spec
        job = await jobs.get_job(sessions, job.id or 0) or job
        spec = JobSpec.of(job)
    interrupted = _interrupted(task, spec)
    if interrupted is not None:
        await _finish(services, job, task, TaskState.FAILED, interrupted)
        return "interrupted"
    masker = services.mask.child()
    lines = LogLines(masker)
    work = TaskWork(services, job, spec, task, lines.write, masker)
    workspace = job_workspaces(services, job.id or 0) / str(task_id)
    try:
        ended = await supervise(services, task, run_task_work(work), lines)
    finally:
        await _remove(workspace)
    if ended is None:
        return "fenced: the task is another attempt's now"
    message = masker(ended.message) if ended.message else None
    if ended.state is TaskState.FAILED and task.attempts < task.max_attempts:
        note = f"attempt {task.attempts} failed: {message}; trying again\n"
        await tasks.finish_task(
            sessions, task_id, job.id or 0, TaskState.RETRYING, log=ended.lines + note
        )
        delay = min(60.0, RETRY_DELAY_SECONDS * 2 ** (task.attempts - 1))
        await enqueue_task(services, task_id, task.attempts + 1, defer=delay)
        return "retrying"
    await _finish(services, job, task, ended.state, message, log=ended.lines)
    return str(ended.state)


async def _remove(directory: Path) -> None:
    """Remove a task's (or a job's) workspace, if it made one."""
    if directory.exists():  # noqa: ASYNC240  (one stat; a thread costs more than it)
        await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)


def _interrupted(task: DeploymentTask, spec: JobSpec) -> str | None:
    """Why a task taken over mid-act may not act again, if it may not: its worker stopped
    while it was acting on a target that is not `--idempotent`."""
    if task.resumed_from != TaskState.RUNNING or TaskKind(task.kind) not in _ACTS:
        return None
    names = [task.target] if task.target else list(task.targets)
    plain = [n for n in names if n in spec.targets and not spec.targets[n].idempotent]
    if not plain:
        return None
    return (
        f"interrupted: the worker running it stopped while it was acting on {', '.join(plain)}; "
        "the target is not --idempotent, so it is not run again blindly"
    )


async def _finish(
    services: Services,
    job: DeploymentJob,
    task: DeploymentTask,
    state: TaskState,
    error: str | None,
    *,
    log: str = "",
) -> None:
    """Record the task's end, then advance its job."""
    if error and state is not TaskState.SUCCEEDED:
        log += f"{state}: {error}\n"
    known = await tasks.finish_task(
        services.sessions,
        task.id or 0,
        job.id or 0,
        state,
        log=log,
        error=error if state is not TaskState.SUCCEEDED else None,
    )
    if known is not None:
        await advance(services, job.id or 0, known)
