"""The arq worker: `shipyard worker` runs arq with `WorkerSettings` against REDIS_URL."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, cast

from arq import cron
from arq.cron import CronJob
from arq.typing import StartupShutdown, WorkerCoroutine, WorkerSettingsType
from arq.worker import Function, Worker, func
from arq.worker import create_worker as arq_worker

from app.jobs import SERVICES, queue_functions
from app.settings import Settings
from app.wiring import freeze_startup_objects, open_services
from app.work.recovery import recover_on_start, sweep
from jobqueue.arq_queue import QUEUE_NAME, ArqQueue, redis_settings

__all__ = ["WorkerSettings", "create_worker", "sweep_now"]

_EXIT_STACK = "exit_stack"


async def startup(ctx: dict[str, Any]) -> None:
    """Services for this worker (on arq's own Redis pool), then recovery."""
    settings: Settings = ctx["settings"]
    queue = ArqQueue(
        redis_settings(settings.redis_url or "", verify_tls=settings.redis_verify_tls),
        pool=ctx["redis"],
    )
    stack = contextlib.AsyncExitStack()
    ctx[SERVICES] = await stack.enter_async_context(open_services(settings, queue=queue))
    ctx[_EXIT_STACK] = stack
    await recover_on_start(ctx[SERVICES])
    freeze_startup_objects()


async def shutdown(ctx: dict[str, Any]) -> None:
    stack: contextlib.AsyncExitStack | None = ctx.pop(_EXIT_STACK, None)
    if stack is not None:
        await stack.aclose()


async def sweep_now(ctx: dict[str, Any]) -> None:
    """Cron: deliveries stored while Redis was down, steps whose worker died."""
    await sweep(ctx[SERVICES])


class WorkerSettings:
    """arq's settings for Shipyard's worker (REDIS_URL and the Settings come at creation)."""

    # arq types a job as its WorkerCoroutine protocol; ours are plain `async def (ctx, *ids)`.
    functions: ClassVar[list[Function]] = [
        func(cast(WorkerCoroutine, job), name=name) for name, job in queue_functions().items()
    ]
    queue_name: ClassVar[str] = QUEUE_NAME
    on_startup: ClassVar[StartupShutdown] = startup
    on_shutdown: ClassVar[StartupShutdown] = shutdown
    cron_jobs: ClassVar[list[CronJob]] = [
        cron(sweep_now, second=set(range(0, 60, 5)), run_at_startup=False)
    ]
    max_tries: ClassVar[int] = 5
    job_timeout: ClassVar[int] = 600
    # arq's default 0.5 s poll adds up to half a second to every hop of a run (each step
    # is a job that enqueues the next); an idle poll of Redis 20 times a second is cheap.
    poll_delay: ClassVar[float] = 0.05


def create_worker(settings: Settings, **overrides: Any) -> Worker:
    """A worker for these settings; tests pass `burst=True, poll_delay=0`."""
    if not settings.redis_url:
        raise RuntimeError(
            "`shipyard worker` needs REDIS_URL. Without it, `shipyard serve` runs jobs itself."
        )
    options: dict[str, Any] = {
        "redis_settings": redis_settings(settings.redis_url, verify_tls=settings.redis_verify_tls),
        "ctx": {"settings": settings},
        **overrides,
    }
    return arq_worker(cast(WorkerSettingsType, WorkerSettings), **options)
