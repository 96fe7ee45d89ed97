"""The buttons of a deployment's page: Approve, Cancel and Roll back, each a POST of its form.

A button acts only on a deployment the viewer may see, from a genuine form of Shipyard's own
pages; the promotion gate then decides (who may approve, what may be cancelled or rolled
back), and the page it sends the browser back to shows the outcome. Which buttons a page shows
is decided with the page (`deployments`), by the same rules these check.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.auth.access import Viewer
from app.db.models.deployments import DeploymentJob, JobKind
from app.environments import promotion
from app.environments.requesters import Requester
from app.web.deployments import is_live, may_act, visible_job
from app.web.guard import form_is_genuine, services_of, signed_in
from app.web.render import render

__all__ = ["PERSON_FOR_OPEN_PAGES", "routes"]

log = logging.getLogger(__name__)

PERSON_FOR_OPEN_PAGES = Requester.operator("pages")


def _refused(message: str, viewer: Viewer, status: int = 403) -> Response:
    return render("refused.html", status, message=message, viewer=viewer)


async def _form_job(request: Request, viewer: Viewer) -> DeploymentJob | Response:
    """The job a button acts on, from a form of Shipyard's own pages (else 403)."""
    found = await visible_job(request, viewer)
    if isinstance(found, Response):
        return found
    if not await form_is_genuine(request, viewer):
        return _refused("That form is out of date: reload the page.", viewer)
    return found


def _who(viewer: Viewer) -> Requester:
    """The person pressing the button; on pages open without sign-in, the server's operator."""
    if viewer.signed_in:
        return Requester.person(viewer.host, viewer.login)
    return PERSON_FOR_OPEN_PAGES


def _back_to(job_id: int) -> Response:
    return RedirectResponse(f"/deployments/{job_id}", status_code=303)


@signed_in
async def approve_button(request: Request, viewer: Viewer) -> Response:
    """Approve: the gate decides (a person with the role, not the one who asked)."""
    found = await _form_job(request, viewer)
    if isinstance(found, Response):
        return found
    try:
        await promotion.approve(services_of(request), found.id or 0, _who(viewer))
    except promotion.Refusal as refusal:
        return _refused(str(refusal), viewer)
    log.info("deployment %s approved on its page by %s", found.id, _who(viewer))
    return _back_to(found.id or 0)


@signed_in
async def cancel_button(request: Request, viewer: Viewer) -> Response:
    found = await _form_job(request, viewer)
    if isinstance(found, Response):
        return found
    if not await may_act(request, viewer, found):
        return _refused("Cancelling a deployment needs write access to its repository.", viewer)
    try:
        await promotion.cancel(services_of(request), found.id or 0, _who(viewer))
    except promotion.Refusal as refusal:
        return _refused(str(refusal), viewer)
    log.info("deployment %s cancelled on its page by %s", found.id, _who(viewer))
    return _back_to(found.id or 0)


@signed_in
async def rollback_button(request: Request, viewer: Viewer) -> Response:
    """Roll the environment back to the release before this one, while this one is live."""
    found = await _form_job(request, viewer)
    if isinstance(found, Response):
        return found
    services = services_of(request)
    if not await may_act(request, viewer, found):
        return _refused("Rolling back needs write access to the repository.", viewer)
    if found.kind != JobKind.DEPLOY or not await is_live(services.sessions, found):
        message = (
            f"Deployment {found.id} is not what runs in {found.environment} now: roll back "
            "from the page of the deployment that is live there."
        )
        return _refused(message, viewer, 409)
    try:
        made = await promotion.rollback(
            services,
            found.provider,
            found.repository,
            found.environment,
            _who(viewer),
            via="page",
        )
    except promotion.Refusal as refusal:
        return _refused(str(refusal), viewer)
    log.info("deployment %s rolled back on its page by %s: %s", found.id, _who(viewer), made.id)
    return _back_to(made.id or 0)


routes = [
    Route("/deployments/{job_id}/approve", approve_button, methods=["POST"]),
    Route("/deployments/{job_id}/cancel", cancel_button, methods=["POST"]),
    Route("/deployments/{job_id}/rollback", rollback_button, methods=["POST"]),
]
