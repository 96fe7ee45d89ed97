"""The Starlette application: routes, and the lifespan that owns the engine and the queue."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app import health, intake, pages
from app.db import create_engine, session_factory
from app.schema import ensure_migrated
from app.settings import Settings
from jobqueue.arq_queue import ArqQueue, redis_settings
from jobqueue.base import JobQueue
from jobqueue.context import close_job_context, job_context
from jobqueue.inprocess import InProcessQueue
from jobqueue.recovery import recover_on_start, sweep_forever

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    try:
        await ensure_migrated(engine)
    except Exception:
        await engine.dispose()
        raise
    sessions = session_factory(engine)
    queue: JobQueue
    if settings.redis_url:
        queue = ArqQueue(
            redis_settings(settings.redis_url, verify_tls=settings.redis_verify_tls),
            pause_after_failure=min(5.0, settings.requeue_interval_seconds),
        )
        ctx = job_context(settings, sessions, queue)
    else:
        inprocess = InProcessQueue()
        queue = inprocess
        ctx = job_context(settings, sessions, queue)
        inprocess.bind(ctx)
    app.state.engine, app.state.sessions, app.state.queue = engine, sessions, queue
    await recover_on_start(ctx)
    sweeper = asyncio.create_task(sweep_forever(ctx))
    freeze_startup_objects()
    try:
        yield
    finally:
        sweeper.cancel()
        await queue.close()
        await close_job_context(ctx)
        await engine.dispose()


async def _http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return JSONResponse({"error": error.detail}, status_code=error.status_code)


async def _unexpected(_request: Request, error: Exception) -> Response:
    log.error("unhandled error: %s", type(error).__name__, exc_info=error)
    return JSONResponse({"error": "internal error; it has been logged"}, status_code=500)


def freeze_startup_objects() -> None:
    """Move what start-up allocated (modules, tables, ~130k objects) out of the collector's
    reach: a full collection otherwise scans them all, a 50-300 ms pause in the middle of
    requests."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> Starlette:
    """The application; settings are read here (at start-up) unless given."""
    app = Starlette(
        routes=[*intake.routes, *health.routes, *pages.routes],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.settings = settings or Settings()
    return app
