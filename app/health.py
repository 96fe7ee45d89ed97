"""`/healthz` (the process is up) and `/readyz` (the database and the queue answer)."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jobqueue import QueueUnavailable


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
    if request.app.state.settings.redis_url:
        try:
            await request.app.state.queue.ping()
            checks["redis"] = "ok"
        except QueueUnavailable:
            checks["redis"] = "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


routes = [Route("/healthz", healthz), Route("/readyz", readyz)]
