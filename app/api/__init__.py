"""The REST API under `/api/v1`, for CI systems and service accounts: one module per resource
in `v1/`, served behind the API's own door (`v1.edge`: bearer tokens, the 1 MB limit and
JSON errors), described by `/api/v1/openapi.json`."""

from __future__ import annotations

from app.api import v1

__all__ = ["PREFIX", "routes"]

PREFIX = "/api/v1"
routes = v1.routes
