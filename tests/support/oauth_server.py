"""A GitHub stand-in for a real browser's sign-in, served on loopback behind uvicorn: its web
root has the OAuth authorize page (one button that sends the browser back with a code) and
the token endpoint (checking client, redirect URI and PKCE verifier); its `/api/v3` answers who
a token belongs to, and — for Shipyard's own token — who may read which repository."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    login: str


@dataclass
class FakeGitHubOAuth:
    client_id: str
    client_secret: str
    server_token: str  # Shipyard's GITHUB_TOKEN, for the permission question
    login: str = "octocat"  # who signs in on the authorize page
    readers: set[tuple[str, str]] = field(default_factory=set)  # (repo, login)
    authorized: int = 0
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)  # user token -> login

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/login/oauth/authorize", self._authorize_page),
                Route("/login/oauth/authorize", self._authorize, methods=["POST"]),
                Route("/login/oauth/access_token", self._token, methods=["POST"]),
                Route("/api/v3/user", self._user),
                Route(
                    "/api/v3/repos/{owner}/{name}/collaborators/{login}/permission",
                    self._permission,
                ),
            ]
        )

    async def _authorize_page(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
            return HTMLResponse("<h1>Unknown application</h1>", status_code=404)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return HTMLResponse("<h1>PKCE required</h1>", status_code=400)
        fields = "".join(
            f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
            for key, value in query.items()
        )
        return HTMLResponse(
            "<!doctype html><title>Authorize Shipyard</title>"
            f"<h1>Authorize Shipyard for {html.escape(self.login)}?</h1>"
            f'<form method="post">{fields}<button id="authorize">Authorize</button></form>'
        )

    async def _authorize(self, request: Request) -> Response:
        form = dict(await _form(request))
        code = secrets.token_hex(10)
        self._grants[code] = _Grant(
            form["client_id"], form["redirect_uri"], form["code_challenge"], self.login
        )
        self.authorized += 1
        back = urlencode({"code": code, "state": form.get("state", "")})
        return RedirectResponse(f"{form['redirect_uri']}?{back}", status_code=302)

    async def _token(self, request: Request) -> Response:
        form = dict(await _form(request))
        grant = self._grants.pop(form.get("code", ""), None)  # a code is good once
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            grant is None
            or (form.get("client_id"), form.get("client_secret"))
            != (self.client_id, self.client_secret)
            or form.get("redirect_uri") != grant.redirect_uri
            or challenge.rstrip(b"=").decode() != grant.challenge
        ):
            return JSONResponse({"error": "bad_verification_code"})  # GitHub says 200
        token = f"gho_{secrets.token_hex(16)}"
        self._tokens[token] = grant.login
        return JSONResponse({"access_token": token, "token_type": "bearer", "scope": ""})

    async def _user(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        login = self._tokens.get(token)
        if login is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse({"login": login, "id": 1})

    async def _permission(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.server_token}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        params = request.path_params
        repo = f"{params['owner']}/{params['name']}"
        if (repo, params["login"]) not in self.readers:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse({"permission": "read", "role_name": "read"})


async def _form(request: Request) -> list[tuple[str, str]]:
    return parse_qsl((await request.body()).decode())
