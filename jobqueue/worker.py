"""The arq worker: `shipyard worker` runs this against REDIS_URL."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Function, Worker, func

from app.db import create_engine, session_factory
from app.main import freeze_startup_objects
from app.schema import ensure_migrated
from app.settings import Settings
from jobqueue.arq_queue import QUEUE_NAME, ArqQueue, redis_settings
from jobqueue.context import close_job_context, job_context
from jobqueue.jobs import JOBS
from jobqueue.recovery import recover_on_start, sweep


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    engine = create_engine(settings)
    await ensure_migrated(engine)
    pool: ArqRedis = ctx["redis"]
    queue = ArqQueue(
        redis_settings(settings.redis_url or "", verify_tls=settings.redis_verify_tls), pool=pool
    )
    ctx["engine"] = engine
    ctx.update(
        job_context(settings, session_factory(engine), queue, providers=ctx.get("providers"))
    )
    await recover_on_start(ctx)  # type: ignore[arg-type]
    freeze_startup_objects()


async def _shutdown(ctx: dict[str, Any]) -> None:
    await close_job_context(ctx)  # type: ignore[arg-type]
    if "engine" in ctx:
        await ctx["engine"].dispose()


async def sweep_now(ctx: dict[str, Any]) -> None:
    """Cron: deliveries stored while Redis was down, steps whose worker died."""
    await sweep(ctx)  # type: ignore[arg-type]


def functions() -> list[Function]:
    return [func(job, name=name) for name, job in JOBS.items()]  # type: ignore[arg-type]


def create_worker(settings: Settings, **overrides: Any) -> Worker:
    """A worker for these settings; tests pass `burst=True, poll_delay=0`."""
    if not settings.redis_url:
        raise RuntimeError(
            "`shipyard worker` needs REDIS_URL. Without it, `shipyard serve` runs jobs itself."
        )
    options: dict[str, Any] = {
        "functions": functions(),
        "queue_name": QUEUE_NAME,
        "redis_settings": redis_settings(settings.redis_url, verify_tls=settings.redis_verify_tls),
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "cron_jobs": [cron(sweep_now, second=set(range(0, 60, 5)), run_at_startup=False)],
        "ctx": {"settings": settings},
        "max_tries": 5,
        "job_timeout": 600,
        # arq's default 0.5 s poll adds up to half a second to every hop of a run (each step
        # is a job that enqueues the next); an idle poll of Redis 20 times a second is cheap.
        "poll_delay": 0.05,
    }
    options.update(overrides)
    return Worker(**options)
