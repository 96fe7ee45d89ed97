"""Following a CI run to its end, shared by `trigger_ci` and `wait_ci`: polling, outputs, failures.

Polling takes its `sleep` and `clock` from the caller, so tests run on a fake clock. The clock
is wall time (`time.time`), not monotonic: the deadline is recorded with the run, and a retried
step on another worker keeps the deadline the first attempt set.

`follow_run` and `check_succeeded` need no StepContext: the workflow deploy executor follows
its run with them too, and catches their `CiFailed` by name. `follow_ci_run` follows a run on
a CI integration (Jenkins, a host's CI registered on the server) the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from providers.base import Provider
from providers.errors import ProviderError, RateLimited
from providers.vocabulary import Repo, RunStatus, WorkflowRun
from steps.base import StepContext, StepFailed
from steps.integrations import CiRun, CiSystems, IntegrationFailed

__all__ = [
    "PASSING_FAILURES",
    "CiFailed",
    "Clock",
    "Sleep",
    "as_workflow_run",
    "check_succeeded",
    "ci_systems",
    "deadline_for",
    "finish",
    "follow_ci_run",
    "follow_run",
    "poll_ci_run",
    "poll_run",
    "read_ci_run",
    "read_run",
    "real_clock",
    "real_sleep",
    "run_outputs",
]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

real_sleep: Sleep = asyncio.sleep
real_clock: Clock = time.time

# A CI integration's errors that polling waits out: the hub's codes with a retry strategy.
PASSING_FAILURES = frozenset(
    {
        "CONNECTION_REFUSED",
        "TIMEOUT",
        "PROVIDER_ERROR",
        "RATE_LIMITED",
        "INTEGRATION_UNHEALTHY",
        "CREDENTIAL_FETCH_FAILED",
    }
)


class CiFailed(StepFailed):
    """A CI run could not be read, did not finish before its deadline, or did not succeed;
    the message says which, with the run's URL. A StepFailed, so the CI steps fail with it."""


async def deadline_for(ctx: StepContext, seconds: float, clock: Clock) -> float:
    """When waiting must stop: set by the first attempt and recorded, kept by retries."""
    recorded = ctx.recorded.get("deadline")
    if isinstance(recorded, int | float):
        return float(recorded)
    deadline = clock() + seconds
    await ctx.record("deadline", deadline)
    return deadline


async def poll_run(
    ctx: StepContext,
    run_id: int | str,
    *,
    deadline: float,
    poll_interval: float,
    sleep: Sleep,
    clock: Clock,
) -> WorkflowRun:
    """`follow_run` for a step: its host, its repository and its log."""
    return await follow_run(
        ctx.provider,
        ctx.run.repo,
        run_id,
        log=ctx.log,
        deadline=deadline,
        poll_interval=poll_interval,
        sleep=sleep,
        clock=clock,
    )


async def follow_run(
    provider: Provider,
    repo: Repo,
    run_id: int | str,
    *,
    log: Callable[[str], None],
    deadline: float,
    poll_interval: float,
    sleep: Sleep,
    clock: Clock,
) -> WorkflowRun:
    """Read the run until it has finished; CiFailed if `deadline` (on `clock`) passes first.

    A host error worth retrying (5xx, no answer, rate limit) is logged and polled through;
    any other (the run is gone, access was lost) is CiFailed at once.
    """

    async def read(run: int | str) -> WorkflowRun:
        try:
            return await provider.get_workflow_run(repo, run)
        except ProviderError as error:
            retry_at = error.retry_at if isinstance(error, RateLimited) else None
            raise _Unread(str(error), error.retryable, retry_at) from error

    return await _follow(
        read,
        run_id,
        log=log,
        deadline=deadline,
        poll_interval=poll_interval,
        sleep=sleep,
        clock=clock,
    )


async def follow_ci_run(
    ci: CiSystems,
    integration: str,
    run_id: str,
    *,
    log: Callable[[str], None],
    deadline: float,
    poll_interval: float,
    sleep: Sleep,
    clock: Clock,
    moved: Callable[[str], Awaitable[None]] | None = None,
) -> WorkflowRun:
    """`follow_run` for a run on a CI integration. When the integration names the run anew
    (a Jenkins queue item that became a build), the new id is followed from then on (Jenkins
    forgets a queue item minutes after its build starts) and given to `moved` (a step records
    it, so a retry follows the build). An error the integration may get over
    (no connection, a 5xx, a rate limit, an open breaker) is polled through."""

    async def read(run: int | str) -> WorkflowRun:
        try:
            return as_workflow_run(await ci.read(integration, str(run)))
        except IntegrationFailed as error:
            raise _Unread(str(error), error.code in PASSING_FAILURES, None) from error

    return await _follow(
        read,
        run_id,
        log=log,
        deadline=deadline,
        poll_interval=poll_interval,
        sleep=sleep,
        clock=clock,
        moved=moved if moved is not None else _ignore,
    )


async def _ignore(run_id: str) -> None:
    return None


class _Unread(Exception):
    """A run could not be read: whether trying again may help, and from when."""

    def __init__(self, message: str, retryable: bool, retry_at: float | None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_at = retry_at


async def _follow(
    read: Callable[[int | str], Awaitable[WorkflowRun]],
    run_id: int | str,
    *,
    log: Callable[[str], None],
    deadline: float,
    poll_interval: float,
    sleep: Sleep,
    clock: Clock,
    moved: Callable[[str], Awaitable[None]] | None = None,
) -> WorkflowRun:
    seen: RunStatus | None = None
    last: WorkflowRun | None = None
    while True:
        wait = poll_interval
        try:
            last = await read(run_id)
        except _Unread as error:
            if not error.retryable:
                raise CiFailed(f"could not read CI run {run_id}: {error}") from error.__cause__
            log(f"could not read CI run {run_id} ({error}); trying again")
            if error.retry_at is not None:
                wait = max(wait, error.retry_at - clock())
        else:
            if moved is not None and str(last.id) != str(run_id):
                log(f"CI run {run_id} is now {last.id}")
                run_id = last.id
                await moved(str(last.id))
            if last.status.finished:
                return last
            if last.status != seen:
                seen = last.status
                log(f"CI run {run_id} is {last.status.value}: {_url(last)}")
        remaining = deadline - clock()
        if remaining <= 0:
            raise CiFailed(_timed_out(run_id, last))
        await sleep(min(wait, remaining))


def as_workflow_run(run: CiRun) -> WorkflowRun:
    """A CI integration's run in the host runs' words (the statuses are the same)."""
    return WorkflowRun(
        id=run.id, status=RunStatus(run.status), url=run.url, conclusion=run.conclusion
    )


def ci_systems(ctx: StepContext, integration: str) -> CiSystems:
    """The server's CI integrations, or StepFailed where a step is given none."""
    if ctx.ci_systems is None:
        raise StepFailed(
            f"integration {integration}: this server offers its steps no CI integrations"
        )
    return ctx.ci_systems


async def read_ci_run(ctx: StepContext, integration: str, run_id: str) -> WorkflowRun:
    """The run as the integration reports it now (recording its new id, if it has one);
    a failure fails the step."""
    try:
        run = await ci_systems(ctx, integration).read(integration, run_id)
    except IntegrationFailed as error:
        raise CiFailed(f"could not read CI run {run_id}: {error}") from error
    if run.id != run_id:
        await ctx.record("run_id", run.id)
    return as_workflow_run(run)


async def poll_ci_run(
    ctx: StepContext,
    integration: str,
    run_id: str,
    *,
    deadline: float,
    poll_interval: float,
    sleep: Sleep,
    clock: Clock,
) -> WorkflowRun:
    """`follow_ci_run` for a step: its log, and each new id of the run recorded."""

    async def moved(new_id: str) -> None:
        await ctx.record("run_id", new_id)

    return await follow_ci_run(
        ci_systems(ctx, integration),
        integration,
        run_id,
        log=ctx.log,
        deadline=deadline,
        poll_interval=poll_interval,
        sleep=sleep,
        clock=clock,
        moved=moved,
    )


async def read_run(ctx: StepContext, run_id: int | str) -> WorkflowRun:
    """The run as the host reports it now; a host error fails the step."""
    try:
        return await ctx.provider.get_workflow_run(ctx.run.repo, run_id)
    except ProviderError as error:
        raise CiFailed(f"could not read CI run {run_id}: {error}") from error


def finish(ctx: StepContext, run: WorkflowRun) -> dict[str, Any]:
    """The finished run's outputs; CiFailed, with the run's URL, unless it succeeded."""
    check_succeeded(run)
    ctx.log(f"CI run {run.id} succeeded: {_url(run)}")
    return run_outputs(run)


def check_succeeded(run: WorkflowRun) -> None:
    """CiFailed, with the run's URL, unless the finished `run` succeeded."""
    if run.status is RunStatus.FAILED:
        word = f" ({run.conclusion})" if run.conclusion else ""
        raise CiFailed(f"CI run {run.id} failed{word}: {_url(run)}")
    if run.status is RunStatus.CANCELLED:
        raise CiFailed(f"CI run {run.id} was cancelled: {_url(run)}")


def run_outputs(run: WorkflowRun) -> dict[str, Any]:
    """The outputs both CI steps give: run_id, status, url, conclusion."""
    return {
        "run_id": run.id,
        "status": run.status.value,
        "url": run.url,
        "conclusion": run.conclusion,
    }


def _timed_out(run_id: int | str, last: WorkflowRun | None) -> str:
    if last is None:
        return f"CI run {run_id} could not be read before the timeout"
    return (
        f"CI run {run_id} did not finish before the timeout "
        f"(still {last.status.value}): {_url(last)}"
    )


def _url(run: WorkflowRun) -> str:
    return run.url or "(the host gave no URL)"
