"""Following a CI run to its end, shared by `trigger_ci` and `wait_ci`: polling, outputs, failures.

Polling takes its `sleep` and `clock` from the caller, so tests run on a fake clock. The clock
is wall time (`time.time`), not monotonic: the deadline is recorded with the run, and a retried
step on another worker keeps the deadline the first attempt set.

`follow_run` and `check_succeeded` need no StepContext: the workflow deploy executor follows
its run with them too, and catches their `CiFailed` by name.
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

__all__ = [
    "CiFailed",
    "Clock",
    "Sleep",
    "check_succeeded",
    "deadline_for",
    "finish",
    "follow_run",
    "poll_run",
    "read_run",
    "real_clock",
    "real_sleep",
    "run_outputs",
]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

real_sleep: Sleep = asyncio.sleep
real_clock: Clock = time.time


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
    seen: RunStatus | None = None
    last: WorkflowRun | None = None
    while True:
        wait = poll_interval
        try:
            last = await provider.get_workflow_run(repo, run_id)
        except ProviderError as error:
            if not error.retryable:
                raise CiFailed(f"could not read CI run {run_id}: {error}") from error
            log(f"could not read CI run {run_id} ({error}); trying again")
            if isinstance(error, RateLimited):
                wait = max(wait, error.retry_at - clock())
        else:
            if last.status.finished:
                return last
            if last.status != seen:
                seen = last.status
                log(f"CI run {run_id} is {last.status.value}: {_url(last)}")
        remaining = deadline - clock()
        if remaining <= 0:
            raise CiFailed(_timed_out(run_id, last))
        await sleep(min(wait, remaining))


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
