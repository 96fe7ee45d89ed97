"""Version 1 of the REST API: the routes its resource modules add (none yet)."""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["routes"]

routes: list[BaseRoute] = []
