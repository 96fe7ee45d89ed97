"""The arq worker: `shipyard worker` runs this against REDIS_URL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Function, Worker, func

from app.db import create_engine, session_factory
from app.schema import ensure_migrated
from app.settings import Settings
from jobqueue.arq_queue import QUEUE_NAME, ArqQueue, redis_settings
from jobqueue.jobs import JOBS
from jobqueue.recovery import recover_on_start, requeue


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    engine = create_engine(settings)
    await ensure_migrated(engine)
    pool: ArqRedis = ctx["redis"]
    ctx["engine"] = engine
    ctx["sessions"] = session_factory(engine)
    ctx["queue"] = ArqQueue(
        redis_settings(settings.redis_url or "", verify_tls=settings.redis_verify_tls), pool=pool
    )
    await recover_on_start(ctx["sessions"], ctx["queue"])


async def _shutdown(ctx: dict[str, Any]) -> None:
    if "engine" in ctx:
        await ctx["engine"].dispose()


async def requeue_received(ctx: dict[str, Any]) -> int:
    """Cron: deliveries the web process stored while Redis was down."""
    settings: Settings = ctx["settings"]
    return await requeue(
        ctx["sessions"], ctx["queue"], min_age=timedelta(seconds=settings.requeue_min_age_seconds)
    )


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
        "cron_jobs": [cron(requeue_received, second={0, 30}, run_at_startup=False)],
        "ctx": {"settings": settings},
        "max_tries": 5,
        "job_timeout": 600,
    }
    options.update(overrides)
    return Worker(**options)
