"""The Starlette application: its routes, and the lifespan that owns the process's Services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp

from app import api, health, metrics, scrape
from app.api.v1.errors import error_response as api_error_response
from app.intake import http as intake
from app.intake.writer import open_writer
from app.logs import configure_logging
from app.settings import Settings
from app.web import (
    deployment_buttons,
    deployment_events,
    deployments,
    environments,
    integrations,
    locks,
    pages,
    releases,
    sign_in,
)
from app.wiring import freeze_startup_objects, open_services
from app.work.recovery import recover_on_start, sweep_forever

__all__ = ["create_app", "serve_app"]

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with (
        open_services(app.state.settings) as services,
        _counted(app.state.settings),
        open_writer(services.settings, services.queue) as writer,
    ):
        app.state.services = services
        app.state.intake_writer = writer
        await recover_on_start(services)
        sweeper = asyncio.create_task(sweep_forever(services))
        freeze_startup_objects()
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper


@contextlib.asynccontextmanager
async def _counted(settings: Settings) -> AsyncIterator[None]:
    with metrics.counted_process(settings):
        yield


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if request.url.path.startswith(f"{api.PREFIX}/"):
        # A path under the API that its mount did not match (a newline in it): still the
        # API's error shape.
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return api_error_response(error.status_code, code, str(error.detail), headers=error.headers)
    return JSONResponse({"error": error.detail}, status_code=error.status_code)


async def _unexpected(_request: Request, error: Exception) -> Response:
    log.error("unhandled error: %s", type(error).__name__, exc_info=error)
    return JSONResponse({"error": "internal error; it has been logged"}, status_code=500)


class _Shipyard(Starlette):
    """Starlette, with webhook deliveries taken before everything else (`WebhooksFirst`: the
    hot path passes no middleware, no router); every other request as Starlette serves it."""

    def build_middleware_stack(self) -> ASGIApp:
        return intake.WebhooksFirst(super().build_middleware_stack())


def create_app(settings: Settings | None = None) -> Starlette:
    """The application; settings are read here (at start-up) unless given."""
    app = _Shipyard(
        routes=[
            *intake.routes,
            *health.routes,
            *scrape.routes,
            *pages.routes,
            *releases.routes,
            *deployments.routes,
            *deployment_buttons.routes,
            *deployment_events.routes,
            *environments.routes,
            *locks.routes,
            *integrations.routes,
            *sign_in.routes,
            Mount(api.PREFIX, routes=api.routes),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.settings = settings or Settings()
    return app


def serve_app() -> Starlette:
    """The application as `shipyard serve` runs it, in each of its processes: settings from the
    environment, logging set up (uvicorn starts extra processes afresh, by this name)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
