"""The pages of runs (with their steps, logs and artifacts) and of deliveries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.db.models.pipelines import RunState
from app.intake import store
from app.pipelines import runs
from app.services import Services

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**values), status_code=status)


def _not_found(what: str) -> HTMLResponse:
    return _page("not_found.html", 404, what=what)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _int(request: Request, name: str) -> int | None:
    value = request.path_params[name]
    return int(value) if value.isdigit() and len(value) < 12 else None


async def run_page(request: Request) -> HTMLResponse:
    sessions = _services(request).sessions
    run_id = _int(request, "run_id")
    run = await runs.get_run(sessions, run_id) if run_id else None
    if run is None:
        return _not_found(f"run {request.path_params['run_id']}")
    steps = await runs.get_steps(sessions, run_id or 0)
    artifacts = [
        (step.name, file)
        for step in steps
        if step.type == "upload_artifact"
        for file in step.outputs.get("files", [])
    ]
    live = run.state in (RunState.QUEUED, RunState.RUNNING)
    return _page("run.html", run=run, steps=steps, artifacts=artifacts, live=live)


async def runs_page(request: Request) -> HTMLResponse:
    recent = await runs.recent_runs(_services(request).sessions, limit=50)
    return _page("runs.html", runs=recent)


async def delivery_page(request: Request) -> HTMLResponse:
    pk = _int(request, "delivery_pk")
    delivery = await store.get(_services(request).sessions, pk) if pk else None
    if delivery is None:
        return _not_found(f"delivery {request.path_params['delivery_pk']}")
    outcome = delivery.outcome or {}
    return _page(
        "delivery.html", delivery=delivery, outcome=outcome, pipelines=outcome.get("pipelines")
    )


routes = [
    Route("/runs", runs_page),
    Route("/runs/{run_id}", run_page),
    Route("/deliveries/{delivery_pk}", delivery_page),
]
