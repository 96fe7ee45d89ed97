"""Signing in to the pages in tests: settings that offer every host's sign-in, each host's
OAuth endpoints faked with respx (on the process's `services.http`), a host client that says
who may read what (and counts how often it was asked), runs and deliveries to look at, and a
session cookie minted directly for tests that are about something else."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import respx
from starlette.applications import Starlette

from app.auth.sealed import SESSION_COOKIE, SESSION_SECONDS, Session, seal_session
from app.auth.secret import session_key
from app.db.models.deliveries import Delivery
from app.db.models.pipelines import PipelineRun
from app.services import Services
from app.settings import Settings
from providers.not_configured import NotConfiguredProvider
from providers.vocabulary import Permission, Repo, TokenScope

SESSION_SECRET = "test-session-secret-0123456789abcdef"
CLIENTS = {
    "github": ("gh-client-id", "gh-client-secret"),
    "gitlab": ("gl-client-id", "gl-client-secret"),
    "gitea": ("gt-client-id", "gt-client-secret"),
}
GITEA_URL = "https://gitea.example.com"
# Every host offers sign-in; the public URL is not loopback, so the pages ask for it.
SIGN_IN = {
    "SHIPYARD_PUBLIC_URL": "https://shipyard.example.com",
    "SHIPYARD_SESSION_SECRET": SESSION_SECRET,
    "GITEA_URL": GITEA_URL,
    **{
        f"{host.upper()}_OAUTH_CLIENT_{part}": value
        for host, (client_id, secret) in CLIENTS.items()
        for part, value in (("ID", client_id), ("SECRET", secret))
    },
}
# For tests about something else that look at a page of a server not on loopback (a public
# URL like http://shipyard.test): add these settings, then `sign_in_admin(client, settings)`.
ADMIN = ("github", "shipyard-admin")
ADMIN_PAGES = {
    "GITHUB_OAUTH_CLIENT_ID": CLIENTS["github"][0],
    "GITHUB_OAUTH_CLIENT_SECRET": CLIENTS["github"][1],
    "SHIPYARD_SESSION_SECRET": SESSION_SECRET,
    "SHIPYARD_ADMINS": ":".join(ADMIN),
}
# Where each host's fake lives, as `app.auth.hosts` derives it from the default settings.
ENDPOINTS = {
    "github": (
        "https://github.com/login/oauth/authorize",
        "https://github.com/login/oauth/access_token",
        "https://api.github.com/user",
        "login",
    ),
    "gitlab": (
        "https://gitlab.com/oauth/authorize",
        "https://gitlab.com/oauth/token",
        "https://gitlab.com/api/v4/user",
        "username",
    ),
    "gitea": (
        f"{GITEA_URL}/login/oauth/authorize",
        f"{GITEA_URL}/login/oauth/access_token",
        f"{GITEA_URL}/api/v1/user",
        "login",
    ),
}


@contextlib.asynccontextmanager
async def running_https(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Like `tests.support.http.running`, at https://shipyard: the session cookie of an https
    public URL is Secure, and a client keeps sending it only over https."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://shipyard") as client:
            yield client


class Permissions(NotConfiguredProvider):
    """A host client that knows who may read which repository, and records each question."""

    def __init__(self, answers: dict[tuple[str, str], Permission] | None = None) -> None:
        super().__init__("github", "Permissions", "nothing")
        self.answers = dict(answers or {})
        self.asked: list[tuple[str, int | None, str, str]] = []  # provider, installation, ...
        self.provider = "github"
        self.installation: int | None = None

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        self.asked.append((self.provider, self.installation, repo.full_name, username))
        return self.answers.get((repo.full_name, username), Permission.NONE)

    def factory(
        self, provider: str, installation_id: int | None, scope: TokenScope | None = None, /
    ) -> Permissions:
        self.provider, self.installation = provider, installation_id
        return self


def use_permissions(app: Starlette, permissions: Permissions) -> None:
    """Make `permissions` the running app's host client for every host."""
    services: Services = app.state.services
    app.state.services = dataclasses.replace(services, providers=permissions.factory)


async def add_run(
    app: Starlette, *, provider: str = "github", repository: str = "acme/web", **values: Any
) -> int:
    run = PipelineRun(
        provider=provider,
        repository=repository,
        pipeline=values.pop("pipeline", "review"),
        trigger="manual",
        status_context="shipyard/review",
        **values,
    )
    async with app.state.services.sessions() as session:
        session.add(run)
        await session.commit()
        await session.refresh(run)
    assert run.id is not None
    return run.id


async def add_delivery(
    app: Starlette,
    *,
    provider: str = "github",
    normalised: dict[str, Any] | None = None,
    **values: Any,
) -> int:
    delivery = Delivery(
        provider=provider,
        delivery_id=f"test-{uuid.uuid4()}",
        event="push",
        body=values.pop("body", b"{}"),
        normalised=normalised,
        **values,
    )
    async with app.state.services.sessions() as session:
        session.add(delivery)
        await session.commit()
        await session.refresh(delivery)
    assert delivery.id is not None
    return delivery.id


def sign_in_as(
    client: httpx.AsyncClient, settings: Settings, host: str, login: str, *, now: float
) -> Session:
    """Put a valid session for host:login into the client's cookies, as a callback would."""
    session = Session(host, login, csrf=f"csrf-{login}", expires=now + SESSION_SECONDS)
    client.cookies.set(SESSION_COOKIE, seal_session(session_key(settings), session))
    return session


def sign_in_admin(client: httpx.AsyncClient, settings: Settings) -> Session:
    """Sign the client in as the admin of ADMIN_PAGES, who sees every page."""
    return sign_in_as(client, settings, *ADMIN, now=time.time())


@dataclass
class FakeOAuth:
    """One host's token and user endpoints: `code` is worth `token`, which belongs to `login`."""

    host: str
    login: str
    code: str = "the-code"
    token: str = "gho_userAccessToken0123456789"
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    user_requests: list[httpx.Request] = field(default_factory=list)

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        self.token_requests.append(form)
        if form.get("code") != [self.code]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        return httpx.Response(200, json={"access_token": self.token, "token_type": "bearer"})

    def _user(self, request: httpx.Request) -> httpx.Response:
        self.user_requests.append(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"message": "Bad credentials"})
        return httpx.Response(200, json={ENDPOINTS[self.host][3]: self.login, "id": 7})


@contextlib.contextmanager
def fake_oauth(host: str, login: str) -> Iterator[FakeOAuth]:
    """The host's OAuth token and user endpoints, answering for `login`; nothing else leaves."""
    fake = FakeOAuth(host, login)
    _, token_url, user_url, _ = ENDPOINTS[host]
    with respx.mock(assert_all_called=False) as mock:
        mock.post(token_url).mock(side_effect=fake._token)
        mock.get(user_url).mock(side_effect=fake._user)
        yield fake


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def sign_in_through(
    client: httpx.AsyncClient, host: str, fake: FakeOAuth, next_path: str
) -> httpx.Response:
    """Walk the flow: /login → start → (the host's authorize page sends the browser back with
    the code and the state) → callback. Returns the callback's answer."""
    login_page = await client.get("/login", params={"next": next_path})
    assert login_page.status_code == 200, login_page.text
    start = await client.get(f"/auth/{host}/start", params={"next": next_path})
    assert start.status_code == 303, start.text
    authorize = query_of(start.headers["location"])
    return await client.get(
        f"/auth/{host}/callback", params={"code": fake.code, "state": authorize["state"]}
    )
