"""Signing in to the pages with a Git host (OAuth authorization code with PKCE), and out.

`/login` lists the hosts; `/auth/{host}/start` sends the browser to the host with a random
`state` sealed into a short-lived cookie; `/auth/{host}/callback` checks it, trades the code for
the user's login (the token is dropped there) and sets the session cookie; `POST /logout`
(with the session's CSRF token) ends it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.auth.hosts import (
    OAuthHost,
    authorize_redirect,
    callback_url,
    configured_hosts,
    pkce_pair,
)
from app.auth.oauth import SignInFailed, signed_in_login
from app.auth.rules import safe_next
from app.auth.sealed import (
    ATTEMPT_COOKIE,
    ATTEMPT_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Attempt,
    Session,
    open_attempt,
    seal_attempt,
    seal_session,
)
from app.web.guard import (
    auth_for,
    cookie_is_secure,
    form_carries,
    pages_are_open,
    refused,
    services_of,
    session_of,
)
from app.web.render import render

__all__ = ["routes"]

log = logging.getLogger(__name__)
ATTEMPT_PATH = "/auth/"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _failed(status: int, message: str, *, retry: str | None = None) -> Response:
    return render("sign_in_failed.html", status, message=message, retry=retry)


def _host(request: Request) -> OAuthHost | None:
    return configured_hosts(services_of(request).settings).get(request.path_params["host"])


def _set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int, path: str
) -> None:
    secure = cookie_is_secure(services_of(request).settings)
    response.set_cookie(
        name, value, max_age=max_age, path=path, secure=secure, httponly=True, samesite="lax"
    )


def _forget_cookie(request: Request, response: Response, name: str, *, path: str) -> None:
    secure = cookie_is_secure(services_of(request).settings)
    response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="lax")


async def login_page(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if pages_are_open(request):
        return RedirectResponse(next_path, status_code=303)
    hosts = configured_hosts(services_of(request).settings)
    if not hosts:
        return refused()
    query = urlencode({"next": next_path})
    links = [(host.display_name, f"/auth/{host.name}/start?{query}") for host in hosts.values()]
    return render("login.html", links=links)


async def start(request: Request) -> Response:
    host = _host(request)
    if host is None:
        return _failed(404, "Shipyard offers no sign-in with that host.", retry="/login")
    auth = auth_for(request)
    verifier, challenge = pkce_pair()
    attempt = Attempt(
        host=host.name,
        state=secrets.token_urlsafe(32),
        verifier=verifier,
        next=safe_next(request.query_params.get("next")),
        expires=auth.clock() + ATTEMPT_SECONDS,
    )
    redirect_uri = callback_url(auth.settings.public_url, host.name)
    response = RedirectResponse(
        authorize_redirect(
            host, redirect_uri=redirect_uri, state=attempt.state, challenge=challenge
        ),
        status_code=303,
    )
    sealed = seal_attempt(auth.key, attempt)
    _set_cookie(
        request, response, ATTEMPT_COOKIE, sealed, max_age=ATTEMPT_SECONDS, path=ATTEMPT_PATH
    )
    return response


async def callback(request: Request) -> Response:
    host = _host(request)
    if host is None:
        return _failed(404, "Shipyard offers no sign-in with that host.", retry="/login")
    auth = auth_for(request)
    attempt = open_attempt(auth.key, request.cookies.get(ATTEMPT_COOKIE), now=auth.clock())
    query = request.query_params
    response = await _finish(request, host, attempt, query.get("state", ""))
    _forget_cookie(request, response, ATTEMPT_COOKIE, path=ATTEMPT_PATH)  # used once
    return response


async def _finish(
    request: Request, host: OAuthHost, attempt: Attempt | None, state: str
) -> Response:
    if attempt is None or attempt.host != host.name or not _same(state, attempt.state):
        return _failed(
            400,
            "This sign-in could not be verified: it was started in another browser, took "
            "longer than ten minutes, or was not started here. Start again.",
            retry="/login",
        )
    retry = f"/login?{urlencode({'next': attempt.next})}"
    query = request.query_params
    if query.get("error"):
        why = query.get("error_description") or query["error"]
        return _failed(400, f"{host.display_name} did not sign you in: {why}", retry=retry)
    code = query.get("code")
    if not code:
        return _failed(400, f"{host.display_name} sent no code back.", retry=retry)
    auth = auth_for(request)
    try:
        login = await signed_in_login(
            services_of(request).http,
            host,
            code=code,
            verifier=attempt.verifier,
            redirect_uri=callback_url(auth.settings.public_url, host.name),
        )
    except SignInFailed as error:
        log.warning("sign-in with %s failed: %s", host.display_name, error)
        return _failed(502, f"Signing in with {host.display_name} failed: {error}", retry=retry)
    session = Session(host.name, login, secrets.token_urlsafe(32), auth.clock() + SESSION_SECONDS)
    log.info("signed in to the pages: %s:%s", host.name, login)
    response = RedirectResponse(attempt.next, status_code=303)
    sealed = seal_session(auth.key, session)
    _set_cookie(request, response, SESSION_COOKIE, sealed, max_age=SESSION_SECONDS, path="/")
    return response


async def logout(request: Request) -> Response:
    session = session_of(request)
    if session is not None:
        if not await form_carries(request, session.csrf):
            return _failed(403, "That sign-out form is out of date: reload the page and try again.")
        log.info("signed out of the pages: %s:%s", session.host, session.login)
    response = RedirectResponse("/login", status_code=303)
    _forget_cookie(request, response, SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/login", login_page),
    Route("/auth/{host}/start", start),
    Route("/auth/{host}/callback", callback),
    Route("/logout", logout, methods=["POST"]),
]
