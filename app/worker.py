"""The arq worker: `shipyard worker` runs `WorkerSettings` against REDIS_URL, on the
installation's queue (SHIPYARD_QUEUE_NAME), waiting out Redis outages, and sweeping every
SHIPYARD_REQUEUE_INTERVAL seconds while Redis answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, ClassVar, cast

from arq.connections import ArqRedis
from arq.typing import StartupShutdown, WorkerCoroutine, WorkerSettingsType
from arq.worker import Function, func, get_kwargs

from app.jobs import SERVICES, queue_functions
from app.services import Services
from app.settings import Settings
from app.wiring import (
    freeze_startup_objects,
    intake_queue_name,
    open_services,
    queue_routes,
)
from app.work.recovery import recover_on_start, sweep
from jobqueue.arq_queue import ArqQueue, queue_key, redis_forgot, redis_settings
from jobqueue.arq_worker import REDIS_UP, ReconnectingWorker

__all__ = ["WorkerSettings", "create_worker"]

log = logging.getLogger(__name__)

_EXIT_STACK = "exit_stack"
_SWEEPER = "sweeper"


async def startup(ctx: dict[str, Any]) -> None:
    """Services for this worker (on arq's own Redis pool), recovery, then the sweeps."""
    settings: Settings = ctx["settings"]
    queue = ArqQueue(
        redis_settings(settings.redis_url or "", verify_tls=settings.redis_verify_tls),
        queue_name=settings.queue_name,
        pool=ctx["redis"],
        pause_after_failure=settings.queue_pause_seconds,
        routes=queue_routes(settings),
    )
    stack = contextlib.AsyncExitStack()
    ctx[SERVICES] = await stack.enter_async_context(open_services(settings, queue=queue))
    ctx[_EXIT_STACK] = stack
    await redis_forgot(ctx["redis"], settings.queue_name)  # what it holds from now on, it knows
    await recover_on_start(ctx[SERVICES])
    ctx[_SWEEPER] = asyncio.create_task(
        _sweep_while_redis_answers(ctx[SERVICES], ctx["redis"], ctx[REDIS_UP])
    )
    freeze_startup_objects()


async def shutdown(ctx: dict[str, Any]) -> None:
    sweeper: asyncio.Task[None] | None = ctx.pop(_SWEEPER, None)
    if sweeper is not None:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
    stack: contextlib.AsyncExitStack | None = ctx.pop(_EXIT_STACK, None)
    if stack is not None:
        await stack.aclose()


async def _sweep_while_redis_answers(
    services: Services, redis: ArqRedis, redis_up: asyncio.Event
) -> None:
    """Deliveries stored while Redis was down, steps whose worker died: every interval, in
    every worker (sweeps are safe to overlap); paused while this worker has lost Redis. Once
    Redis has forgotten what it held (flushed, or restarted without persistence), everything
    unfinished goes back on the queue at once, as at start-up, whatever the leases say."""
    interval = services.settings.requeue_interval_seconds
    while True:
        await asyncio.sleep(interval)
        await redis_up.wait()
        try:
            if await redis_forgot(redis, services.settings.queue_name):
                await recover_on_start(services)
            else:
                await sweep(services)
        except Exception:
            log.exception("sweep failed; trying again in %.1f s", interval)


class WorkerSettings:
    """arq's settings for Shipyard's worker (REDIS_URL and the Settings come at creation)."""

    # arq types a job as its WorkerCoroutine protocol; ours are plain `async def (ctx, *ids)`.
    functions: ClassVar[list[Function]] = [
        func(cast(WorkerCoroutine, job), name=name) for name, job in queue_functions().items()
    ]
    on_startup: ClassVar[StartupShutdown] = startup
    on_shutdown: ClassVar[StartupShutdown] = shutdown
    max_tries: ClassVar[int] = 5
    job_timeout: ClassVar[int] = 600


def create_worker(
    settings: Settings, *, intake: bool = False, **overrides: Any
) -> ReconnectingWorker:
    """A worker for these settings — on the deliveries' own queue with `intake` (and
    SHIPYARD_INTAKE_QUEUE); tests pass `burst=True, poll_delay=0`."""
    if not settings.redis_url:
        raise RuntimeError(
            "`shipyard worker` needs REDIS_URL. Without it, `shipyard serve` runs jobs itself."
        )
    if intake and not settings.intake_queue:
        raise RuntimeError(
            "`shipyard worker --intake` serves the deliveries' own queue, which only "
            "SHIPYARD_INTAKE_QUEUE=true makes: without it, every worker takes deliveries."
        )
    queue = intake_queue_name(settings) if intake else settings.queue_name
    options: dict[str, Any] = {
        **get_kwargs(cast(WorkerSettingsType, WorkerSettings)),
        "redis_settings": redis_settings(settings.redis_url, verify_tls=settings.redis_verify_tls),
        "queue_name": queue_key(queue),
        # arq's default 0.5 s poll adds up to half a second to every hop of a run (each step
        # is a job that enqueues the next); an idle poll of Redis 20 times a second is cheap.
        "poll_delay": settings.queue_poll_seconds,
        "redis_retry_max": settings.redis_retry_max_seconds,
        "ctx": {"settings": settings},
        **overrides,
    }
    return ReconnectingWorker(**options)
