"""Signing in with each host, end to end over ASGI with the host's token and user endpoints
faked on `services.http`: state checked, cookie flags, the `next` round trip, sign-out."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re

import httpx
import pytest

from app.auth.sealed import ATTEMPT_COOKIE, SESSION_COOKIE
from app.auth.state import Auth
from app.main import create_app
from providers.vocabulary import Permission
from tests.support.clock import FakeClock
from tests.support.http import running
from tests.support.oauth import (
    ENDPOINTS,
    SIGN_IN,
    Permissions,
    add_delivery,
    add_run,
    fake_oauth,
    query_of,
    running_https,
    sign_in_through,
    use_permissions,
)
from tests.support.settings import make_settings

PROVIDER_OF = {"github": "github", "gitlab": "gitlab", "gitea": "forgejo"}
READER = Permissions({("acme/web", "octocat"): Permission.READ})


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header of the response, by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def flags(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


@pytest.mark.parametrize("host", ["github", "gitlab", "gitea"])
async def test_signing_in_with_each_host_returns_to_the_page(
    migrated: str, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_app(make_settings(migrated, **SIGN_IN))
    async with running_https(app) as client:
        run_id = await add_run(app, provider=PROVIDER_OF[host])
        use_permissions(app, Permissions({("acme/web", "octocat"): Permission.READ}))
        with fake_oauth(host, "octocat") as fake:
            door = await client.get(f"/runs/{run_id}")
            assert door.status_code == 303
            login = await client.get(door.headers["location"])
            start = await client.get(f"/auth/{host}/start", params={"next": f"/runs/{run_id}"})
            authorize = query_of(start.headers["location"])
            back = await client.get(
                f"/auth/{host}/callback", params={"code": fake.code, "state": authorize["state"]}
            )
            page = await client.get(back.headers["location"])

    assert f'href="/auth/{host}/start?next=%2Fruns%2F{run_id}"' in login.text
    assert start.status_code == 303
    assert start.headers["location"].startswith(ENDPOINTS[host][0] + "?")
    redirect_uri = f"https://shipyard.example.com/auth/{host}/callback"
    assert authorize["redirect_uri"] == redirect_uri
    assert (authorize["response_type"], authorize["code_challenge_method"]) == ("code", "S256")
    assert len(authorize["state"]) >= 32
    attempt_cookie = set_cookies(start)[ATTEMPT_COOKIE]
    assert {"httponly", "samesite=lax", "secure", "path=/auth/"} <= flags(attempt_cookie)

    assert (back.status_code, back.headers["location"]) == (303, f"/runs/{run_id}")
    cookies = set_cookies(back)
    session_cookie = cookies[SESSION_COOKIE]
    assert {"httponly", "samesite=lax", "secure", "path=/", "max-age=43200"} <= flags(
        session_cookie
    )
    assert "max-age=0" in flags(cookies[ATTEMPT_COOKIE])  # the attempt is used up

    [token_form] = fake.token_requests
    assert token_form["redirect_uri"] == [redirect_uri]
    verifier = token_form["code_verifier"][0]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge.rstrip(b"=").decode() == authorize["code_challenge"]

    assert page.status_code == 200
    assert "acme/web" in page.text
    assert f"{host}:octocat" in page.text
    assert page.headers["cache-control"] == "private, no-store"

    # The user's token was used for the user lookup and is kept nowhere: not in the cookie
    # (which holds the host, the login, the CSRF token and the expiry), not in the logs.
    value = session_cookie.split("=", 1)[1].split(";")[0]
    body = json.loads(base64.urlsafe_b64decode(value.split(".")[0] + "=="))
    assert set(body) == {"h", "l", "c", "exp"}
    assert (body["h"], body["l"]) == (host, "octocat")
    assert fake.token not in session_cookie
    assert fake.token not in caplog.text


async def test_a_wrong_state_is_refused_and_signs_nobody_in(migrated: str) -> None:
    app = create_app(make_settings(migrated, **SIGN_IN))
    async with running_https(app) as client:
        await add_run(app)
        with fake_oauth("github", "octocat") as fake:
            await client.get("/auth/github/start", params={"next": "/runs/1"})
            wrong = await client.get(
                "/auth/github/callback", params={"code": fake.code, "state": "guessed"}
            )
            page = await client.get("/runs/1")
            client.cookies.clear()
            forged = await client.get(  # no sign-in was started in this browser
                "/auth/github/callback", params={"code": fake.code, "state": "x"}
            )
            # a state started for GitHub does not finish GitLab's sign-in
            start = await client.get("/auth/github/start")
            state = query_of(start.headers["location"])["state"]
            crossed = await client.get(
                "/auth/gitlab/callback", params={"code": fake.code, "state": state}
            )
    for refused in (wrong, forged, crossed):
        assert refused.status_code == 400
        assert "could not be verified" in refused.text
        assert SESSION_COOKIE not in set_cookies(refused)
    assert page.status_code == 303
    assert fake.token_requests == []


async def test_a_refusal_or_a_bad_code_from_the_host_signs_nobody_in(migrated: str) -> None:
    app = create_app(make_settings(migrated, **SIGN_IN))
    async with running_https(app) as client:
        with fake_oauth("gitlab", "octocat") as fake:
            start = await client.get("/auth/gitlab/start")
            state = query_of(start.headers["location"])["state"]
            denied = await client.get(
                "/auth/gitlab/callback",
                params={
                    "error": "access_denied",
                    "error_description": "<b>said no</b>",
                    "state": state,
                },
            )
            start = await client.get("/auth/gitlab/start")
            state = query_of(start.headers["location"])["state"]
            bad = await client.get(
                "/auth/gitlab/callback", params={"code": "stale", "state": state}
            )
            unknown = await client.get("/auth/bitbucket/start")
    assert denied.status_code == 400
    assert "GitLab did not sign you in: &lt;b&gt;said no&lt;/b&gt;" in denied.text
    assert bad.status_code == 502
    assert "invalid_grant" in bad.text
    assert len(fake.token_requests) == 1
    assert all(SESSION_COOKIE not in set_cookies(r) for r in (denied, bad))
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("asked", "landed"),
    [
        ("/deliveries/{pk}", "/deliveries/{pk}"),
        ("/runs?page=2", "/runs?page=2"),
        ("//evil.example/runs", "/runs"),
        ("https://evil.example/", "/runs"),
    ],
)
async def test_links_shipyard_posts_lead_through_sign_in_and_back(
    migrated: str, asked: str, landed: str
) -> None:
    app = create_app(make_settings(migrated, **SIGN_IN, SHIPYARD_ADMINS="gitea:octocat"))
    async with running_https(app) as client:
        pk = await add_delivery(app, provider="gitea", normalised={"repository": None})
        with fake_oauth("gitea", "octocat") as fake:
            back = await sign_in_through(client, "gitea", fake, asked.format(pk=pk))
            page = await client.get(back.headers["location"])
    assert back.headers["location"] == landed.format(pk=pk)
    assert page.status_code == 200


async def test_the_session_cookie_is_not_secure_for_an_http_public_url(migrated: str) -> None:
    settings = make_settings(migrated, **{**SIGN_IN, "SHIPYARD_PUBLIC_URL": "http://ci.internal"})
    app = create_app(settings)
    async with running(app) as client:
        with fake_oauth("github", "octocat") as fake:
            back = await sign_in_through(client, "github", fake, "/runs")
    header = set_cookies(back)[SESSION_COOKIE]
    assert {"httponly", "samesite=lax"} <= flags(header)
    assert "secure" not in flags(header)


async def test_signing_out_needs_the_csrf_token_of_the_session(migrated: str) -> None:
    app = create_app(make_settings(migrated, **SIGN_IN))
    async with running_https(app) as client:
        run_id = await add_run(app)
        use_permissions(app, READER)
        with fake_oauth("github", "octocat") as fake:
            await sign_in_through(client, "github", fake, "/runs")
        page = await client.get(f"/runs/{run_id}")
        [csrf] = re.findall(r'name="csrf" value="([^"]+)"', page.text)
        forged = [
            await client.post("/logout"),
            await client.post("/logout", data={"csrf": "not-it"}),
        ]
        still = await client.get(f"/runs/{run_id}")
        out = await client.post("/logout", data={"csrf": csrf})
        after = await client.get(f"/runs/{run_id}")
    assert [answer.status_code for answer in forged] == [403, 403]
    assert still.status_code == 200
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert "max-age=0" in flags(set_cookies(out)[SESSION_COOKIE])
    assert after.status_code == 303


async def test_a_session_ends_after_twelve_hours(migrated: str) -> None:
    settings = make_settings(migrated, **SIGN_IN, SHIPYARD_ADMINS="github:octocat")
    app = create_app(settings)
    clock = FakeClock()
    app.state.auth = Auth(settings, clock=clock.time)
    async with running_https(app) as client:
        with fake_oauth("github", "octocat") as fake:
            await sign_in_through(client, "github", fake, "/runs")
        clock.now += 12 * 3600 - 1
        before = await client.get("/runs")
        clock.now += 1
        after = await client.get("/runs")
    assert (before.status_code, after.status_code) == (200, 303)
