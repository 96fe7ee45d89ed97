"""The pages of runs (with their steps, logs and artifacts) and of deliveries. Each is behind
the sign-in door (`app.web.guard`) and shows only what the viewer may read: a run or delivery
of a repository they cannot read answers like one that does not exist."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.auth.access import Viewer, readable, resource_of_delivery, resource_of_run
from app.db.models.deliveries import DeliveryStatus
from app.db.models.pipelines import RunState
from app.intake import store
from app.intake.queueing import retry_delivery
from app.pipelines import runs
from app.web.guard import auth_for, form_is_genuine, may_see, services_of, signed_in
from app.web.render import render
from providers.vocabulary import Permission

log = logging.getLogger(__name__)


def _not_found(what: str, viewer: Viewer) -> Response:
    return render("not_found.html", 404, what=what, viewer=viewer)


def _int(request: Request, name: str) -> int | None:
    value = request.path_params[name]
    return int(value) if value.isdigit() and len(value) < 12 else None


@signed_in
async def run_page(request: Request, viewer: Viewer) -> Response:
    sessions = services_of(request).sessions
    run_id = _int(request, "run_id")
    run = await runs.get_run(sessions, run_id) if run_id else None
    if run is None or not await may_see(request, viewer, resource_of_run(run)):
        return _not_found(f"run {request.path_params['run_id']}", viewer)
    steps = await runs.get_steps(sessions, run_id or 0)
    artifacts = [
        (step.name, file)
        for step in steps
        if step.type == "upload_artifact"
        for file in step.outputs.get("files", [])
    ]
    live = run.state in (RunState.QUEUED, RunState.RUNNING)
    return render("run.html", run=run, steps=steps, artifacts=artifacts, live=live, viewer=viewer)


@signed_in
async def runs_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    recent = await runs.recent_runs(services.sessions, limit=50)
    permissions = auth_for(request).permissions
    shown = await readable(services.providers, permissions, viewer, recent, resource_of_run)
    return render("runs.html", runs=shown, viewer=viewer)


@signed_in
async def delivery_page(request: Request, viewer: Viewer) -> Response:
    pk = _int(request, "delivery_pk")
    delivery = await store.get(services_of(request).sessions, pk) if pk else None
    if delivery is None or not await may_see(request, viewer, resource_of_delivery(delivery)):
        return _not_found(f"delivery {request.path_params['delivery_pk']}", viewer)
    outcome = delivery.outcome or {}
    retry = delivery.status == DeliveryStatus.FAILED and await may_see(
        request, viewer, resource_of_delivery(delivery), at_least=Permission.WRITE
    )
    return render(
        "delivery.html",
        delivery=delivery,
        outcome=outcome,
        pipelines=outcome.get("pipelines"),
        retry=retry,
        viewer=viewer,
    )


@signed_in
async def retry_page(request: Request, viewer: Viewer) -> Response:
    """The Retry button: a failed delivery is processed again, for those who may write to its
    repository (or administer Shipyard)."""
    services = services_of(request)
    pk = _int(request, "delivery_pk")
    delivery = await store.get(services.sessions, pk) if pk else None
    if delivery is None or not await may_see(request, viewer, resource_of_delivery(delivery)):
        return _not_found(f"delivery {request.path_params['delivery_pk']}", viewer)
    if not await form_is_genuine(request, viewer):
        return render("refused.html", 403, message="That form is out of date: reload the page.")
    resource = resource_of_delivery(delivery)
    if not await may_see(request, viewer, resource, at_least=Permission.WRITE):
        message = "Retrying a delivery needs write access to its repository."
        return render("refused.html", 403, message=message, viewer=viewer)
    assert delivery.id is not None
    retried = await retry_delivery(services.sessions, services.queue, delivery.id)
    log.info("delivery %s from its page by %s: %s", delivery.id, viewer.login or "-", retried)
    return RedirectResponse(f"/deliveries/{delivery.id}", status_code=303)


routes = [
    Route("/runs", runs_page),
    Route("/runs/{run_id}", run_page),
    Route("/deliveries/{delivery_pk}", delivery_page),
    Route("/deliveries/{delivery_pk}/retry", retry_page, methods=["POST"]),
]
