"""The REST API under `/api/v1`, for CI systems and service accounts: one module per resource
in `v1/`, each adding its routes to `v1.routes`. No resource is served yet: every path under
the prefix answers 404."""

from __future__ import annotations

from app.api import v1

__all__ = ["PREFIX", "routes"]

PREFIX = "/api/v1"
routes = v1.routes
