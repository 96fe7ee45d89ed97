"""The door in front of every page: open on loopback, refused (403) when no host offers
sign-in, a redirect to sign-in without a session, else the page with the signed-in viewer.
It guards the pages it wraps and nothing else: webhooks, health and the API have their own."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.auth.access import ANYONE, Resource, Viewer, may_read
from app.auth.hosts import SETTINGS_HINTS, configured_hosts
from app.auth.rules import open_without_sign_in
from app.auth.sealed import Session
from app.auth.state import Auth, auth_of
from app.auth.state import session_of as signed_in_session
from app.services import Services
from app.settings import Settings
from app.web.render import render
from providers.vocabulary import Permission

__all__ = [
    "Page",
    "auth_for",
    "cookie_is_secure",
    "form_carries",
    "form_is_genuine",
    "login_path",
    "may_see",
    "pages_are_open",
    "refused",
    "services_of",
    "session_of",
    "signed_in",
]

Page = Callable[[Request, Viewer], Awaitable[Response]]
MAX_FORM_BYTES = 4096  # a form of Shipyard's pages is a token and a button


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def auth_for(request: Request) -> Auth:
    return auth_of(request.app.state, services_of(request).settings)


def pages_are_open(request: Request) -> bool:
    settings = services_of(request).settings
    return open_without_sign_in(settings.host, settings.public_url, request.headers.keys())


def cookie_is_secure(settings: Settings) -> bool:
    return urlsplit(settings.public_url).scheme == "https"


def login_path(next_path: str) -> str:
    return f"/login?{urlencode({'next': next_path})}"


def refused() -> Response:
    """403: nobody can sign in, so nobody may look (the page names the settings)."""
    return render("sign_in_refused.html", 403, hints=SETTINGS_HINTS)


def session_of(request: Request) -> Session | None:
    """The request's valid session, on a host that still offers sign-in; else None."""
    return signed_in_session(request, services_of(request).settings)


def _viewer_or_door(request: Request) -> Viewer | Response:
    if pages_are_open(request):
        return ANYONE
    if not configured_hosts(services_of(request).settings):
        return refused()
    session = session_of(request)
    if session is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(login_path(here), status_code=303)
    admin = auth_for(request).is_admin(session.host, session.login)
    return Viewer(session.host, session.login, session.csrf, sees_everything=admin)


def signed_in(page: Page) -> Callable[[Request], Awaitable[Response]]:
    """A page endpoint behind the door: `page(request, viewer)` runs only for a viewer."""

    @functools.wraps(page)
    async def endpoint(request: Request) -> Response:
        viewer = _viewer_or_door(request)
        if isinstance(viewer, Response):
            return viewer
        response = await page(request, viewer)
        if viewer.signed_in:  # what one person may read is no shared cache's to keep
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    return endpoint


async def may_see(
    request: Request, viewer: Viewer, resource: Resource, *, at_least: Permission = Permission.READ
) -> bool:
    return await may_read(
        services_of(request).providers,
        auth_for(request).permissions,
        viewer,
        resource,
        at_least=at_least,
    )


async def form_carries(request: Request, csrf: str) -> bool:
    """Whether the POSTed form's `csrf` field is the session's token (compared in constant
    time; a form of Shipyard's pages is a token and a button, so only its start is read)."""
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"))
    return hmac.compare_digest(form.get("csrf", [""])[0].encode(), csrf.encode())


async def form_is_genuine(request: Request, viewer: Viewer) -> bool:
    """Whether a POSTed form came from one of Shipyard's own pages: it carries the viewer's
    CSRF token; on pages open on loopback (no session, so no token) the browser's `Origin`, if
    it sends one, is Shipyard's own."""
    if viewer.signed_in:
        return await form_carries(request, viewer.csrf)
    origin = request.headers.get("origin")
    public = urlsplit(services_of(request).settings.public_url)
    return origin is None or origin == f"{public.scheme}://{public.netloc}"
