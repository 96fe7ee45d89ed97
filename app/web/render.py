"""Rendering the pages' templates (autoescaped Jinja2, from app/web/templates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

__all__ = ["render"]

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


def render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Template `name` rendered with `values`; `viewer` (who is signed in) when there is one."""
    return HTMLResponse(_templates.get_template(name).render(**values), status_code=status)
