"""The integrations page (admins only): every integration with its type, provider and labels,
its health — each check level's last result, latency and message — and where this process's
circuit breaker stands. A credential is shown as its reference, never resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth.access import Viewer
from app.integrations.kinds import CHECK_LEVELS
from app.integrations.model import Integration
from app.integrations.store import list_integrations
from app.web.guard import services_of, signed_in
from app.web.render import render

__all__ = ["CheckView", "IntegrationView", "routes"]

# The pages' state colours (base.html), by health.
HEALTH_CLASS = {
    "healthy": "succeeded",
    "degraded": "pending",
    "unhealthy": "failed",
    "unknown": "skipped",
}


@dataclass(frozen=True)
class CheckView:
    level: str
    ok: bool
    latency_ms: float
    message: str
    code: str | None
    checked_at: datetime | None


@dataclass(frozen=True)
class IntegrationView:
    integration: Integration
    health_class: str
    checks: tuple[tuple[str, CheckView | None], ...]  # every level, None: never checked
    breaker: str


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def check_view(level: str, stored: Mapping[str, Any] | None) -> CheckView | None:
    """A level's last result as the hub stored it, for the page."""
    if not stored:
        return None
    return CheckView(
        level=level,
        ok=bool(stored.get("success")),
        latency_ms=float(stored.get("latencyMs") or 0.0),
        message=str(stored.get("message") or ""),
        code=stored.get("errorCode") or None,
        checked_at=_moment(stored.get("checkedAt")),
    )


@signed_in
async def integrations_page(request: Request, viewer: Viewer) -> Response:
    if not viewer.sees_everything:
        message = "The integrations page is for Shipyard's admins (SHIPYARD_ADMINS)."
        return render("refused.html", 403, message=message, viewer=viewer)
    services = services_of(request)
    breakers = services.integrations.breakers
    views = [
        IntegrationView(
            integration=integration,
            health_class=HEALTH_CLASS.get(integration.health, "skipped"),
            checks=tuple(
                (level, check_view(level, integration.checks.get(level))) for level in CHECK_LEVELS
            ),
            breaker=breakers.state(integration.name).position,
        )
        for integration in await list_integrations(services.sessions)
    ]
    return render("integrations.html", views=views, levels=CHECK_LEVELS, viewer=viewer)


routes = [
    Route("/integrations", integrations_page),
]
