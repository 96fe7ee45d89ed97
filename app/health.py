"""`/healthz` (the process is up) and `/readyz` (the database and the queue answer; for each
that does not, the kind of error, never a traceback)."""

from __future__ import annotations

from sqlalchemy import literal
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.services import Services
from jobqueue.base import QueueUnavailable


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    checks: dict[str, str] = {}
    try:
        async with services.sessions() as session:
            await session.exec(select(literal(1)))
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
    if services.settings.redis_url:
        try:
            await services.queue.ping()
            checks["redis"] = "ok"
        except QueueUnavailable as error:
            checks["redis"] = f"unreachable: {type(error.__cause__ or error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


routes = [Route("/healthz", healthz), Route("/readyz", readyz)]
