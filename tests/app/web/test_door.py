"""The door in front of the pages: open on loopback reached directly, a redirect to sign-in
without a session (through a proxy on loopback too), 403 naming the settings when nobody can
sign in. Webhooks, health and the API never pass it."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from app.main import create_app
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.oauth import SIGN_IN, add_run
from tests.support.settings import make_settings

ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (a setting's value; nothing binds to it)

PAGES = ["/runs", "/runs/1", "/deliveries/1", "/runs/999", "/runs/1?tab=logs"]
ON_LOOPBACK = {k: v for k, v in SIGN_IN.items() if k != "SHIPYARD_PUBLIC_URL"}
OAUTH_SETTINGS = [
    "GITHUB_OAUTH_CLIENT_ID",
    "GITHUB_OAUTH_CLIENT_SECRET",
    "GITLAB_OAUTH_CLIENT_ID",
    "GITLAB_OAUTH_CLIENT_SECRET",
    "GITEA_OAUTH_CLIENT_ID",
    "GITEA_OAUTH_CLIENT_SECRET",
]


def login_for(page: str) -> str:
    return f"/login?next={quote(page, safe='')}"


async def test_every_page_without_a_session_redirects_to_sign_in(migrated: str) -> None:
    app = create_app(make_settings(migrated, **SIGN_IN))
    async with running(app) as client:
        await add_run(app)
        answers = {page: await client.get(page) for page in PAGES}
    for page, answer in answers.items():
        assert (answer.status_code, answer.headers["location"]) == (303, login_for(page))
        assert "acme/web" not in answer.text


@pytest.mark.parametrize(
    "proxy_header",
    [
        {"X-Forwarded-For": "203.0.113.9"},
        {"Forwarded": "for=203.0.113.9;proto=https"},
        {"X-Forwarded-Host": "shipyard.example.com"},
        {"X-Forwarded-Proto": "https"},
    ],
)
async def test_a_proxy_on_loopback_does_not_make_the_pages_open(
    migrated: str, proxy_header: dict[str, str]
) -> None:
    settings = make_settings(migrated, **ON_LOOPBACK)
    assert (settings.host, settings.public_url) == ("127.0.0.1", "http://127.0.0.1:8000")
    app = create_app(settings)
    async with running(app) as client:
        await add_run(app)
        proxied = {page: await client.get(page, headers=proxy_header) for page in PAGES}
        direct = await client.get("/runs/1")
    for page, answer in proxied.items():
        assert (answer.status_code, answer.headers["location"]) == (303, login_for(page))
    assert direct.status_code == 200
    assert "acme/web" in direct.text


async def test_pages_are_open_on_loopback_and_sign_in_steps_aside(migrated: str) -> None:
    app = create_app(make_settings(migrated))  # the `make run` defaults
    async with running(app) as client:
        await add_run(app)
        pages = [await client.get(page) for page in ("/runs", "/runs/1")]
        login = await client.get("/login", params={"next": "/runs/1"})
    assert [page.status_code for page in pages] == [200, 200]
    assert all("acme/web" in page.text for page in pages)
    assert "Sign out" not in pages[1].text
    assert (login.status_code, login.headers["location"]) == (303, "/runs/1")


@pytest.mark.parametrize(
    "overrides",
    [
        {"SHIPYARD_PUBLIC_URL": "https://shipyard.example.com"},
        {"SHIPYARD_HOST": ALL_INTERFACES},
        {"GITHUB_OAUTH_CLIENT_ID": "only-the-id"},
    ],
)
async def test_without_any_sign_in_configured_pages_refuse_naming_the_settings(
    migrated: str, overrides: dict[str, str]
) -> None:
    settings = make_settings(migrated, **{"SHIPYARD_HOST": ALL_INTERFACES, **overrides})
    app = create_app(settings)
    async with running(app) as client:
        await add_run(app)
        answers = [await client.get(page) for page in [*PAGES, "/login"]]
    for answer in answers:
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert all(name in answer.text for name in OAUTH_SETTINGS), answer.text
        assert "acme/web" not in answer.text


async def test_webhooks_health_and_the_api_are_not_behind_the_door(migrated: str) -> None:
    app = create_app(make_settings(migrated, SHIPYARD_PUBLIC_URL="https://shipyard.example.com"))
    body, headers = delivery("github", "push", PUSH)
    async with running(app) as client:
        hook = await client.post("/webhooks/github", content=body, headers=headers)
        health = await client.get("/healthz")
        api = await client.get("/api/v1/releases")
        await app.state.services.queue.join()
    assert hook.status_code == 202
    assert health.status_code == 200
    assert api.status_code == 401  # the API's own bearer tokens, not the pages' sign-in
    assert api.headers["content-type"] == "application/json"
