"""Who may call the API: a missing, unknown, expired or revoked token is 401; a role without
the permission 403 naming it; a repository outside the account's scope 403; and a token is
never kept or shown anywhere but in the answer that made it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.accounts import revoke_account
from app.db.engine import create_engine, session_factory
from app.db.models.accounts import ServiceAccount
from app.db.models.base import utcnow
from app.settings import Settings
from tests.support.api import (
    COMMIT,
    bearer,
    creator_headers,
    declare_components,
    make_token,
    release_body,
)
from tests.support.database import everything


async def _expire(settings: Settings, name: str) -> None:
    engine = create_engine(settings)
    async with session_factory(engine)() as session:
        await session.exec(
            update(ServiceAccount)
            .where(col(ServiceAccount.name) == name)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    await engine.dispose()


async def _revoke(settings: Settings, name: str) -> None:
    engine = create_engine(settings)
    await revoke_account(session_factory(engine), name)
    await engine.dispose()


async def test_missing_unknown_expired_and_revoked_tokens_are_401(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    good = await make_token(api_settings, "ci", "viewer", repositories=["acme/*"])
    expiring = await make_token(api_settings, "short", "viewer", repositories=["acme/*"])
    revoked = await make_token(api_settings, "gone", "viewer", repositories=["acme/*"])
    assert (await api.get("/api/v1/releases", headers=bearer(good))).status_code == 200
    await _expire(api_settings, "short")
    await _revoke(api_settings, "gone")
    cases: list[tuple[dict[str, str], str]] = [
        ({}, "an Authorization: Bearer shipyard_sa_… header is required"),
        ({"Authorization": f"Basic {good}"}, "must be Bearer"),
        (bearer("ghp_not_ours"), "not a Shipyard service-account token"),
        (bearer(good[:-6] + "abcdef"), "the token is not valid"),
        (bearer(expiring), "the token of 'short' expired"),
        (bearer(revoked), "the service account 'gone' is revoked"),
    ]
    for headers, says in cases:
        answer = await api.get("/api/v1/releases", headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"] == 'Bearer realm="shipyard"'
        assert answer.json()["success"] is False
        assert answer.json()["error"]["code"] == "unauthorized"
        assert says in answer.json()["error"]["message"]


ACCOUNT = {"name": "made", "roles": ["viewer"], "repositories": ["acme/*"]}
BUILD = {
    "buildId": "1",
    "status": "failed",
    "commit": COMMIT,
    "repository": "https://github.com/acme/web",
}
CALLS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "create release": ("POST", "/api/v1/releases", release_body()),
    "list releases": ("GET", "/api/v1/releases", None),
    "report build": ("POST", "/api/v1/ci-events/build-complete", BUILD),
    "make account": ("POST", "/api/v1/service-accounts", ACCOUNT),
    "list accounts": ("GET", "/api/v1/service-accounts", None),
    "revoke account": ("DELETE", "/api/v1/service-accounts/999", None),
}
LACKS = {
    "create release": "releases:create",
    "list releases": "releases:read",
    "report build": "builds:create",
    "make account": "service-accounts:create",
    "list accounts": "service-accounts:read",
    "revoke account": "service-accounts:delete",
}
ALLOWED = {
    "admin": set(CALLS),
    "release-creator": {"create release", "list releases", "report build"},
    "deployer": {"list releases"},
    "viewer": {"list releases"},
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
async def test_each_role_may_do_what_it_grants_and_is_403_otherwise(
    api: httpx.AsyncClient, api_settings: Settings, role: str
) -> None:
    await declare_components(api_settings)
    headers = bearer(await make_token(api_settings, role, role, repositories=["acme/*"]))
    for call, (method, path, body) in CALLS.items():
        answer = await api.request(method, path, json=body, headers=headers)
        if call in ALLOWED[role]:
            assert answer.status_code in (200, 201, 404), (call, answer.text)
        else:
            assert answer.status_code == 403, (call, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "missing_permission"
            assert (
                f"the service account {role!r} lacks the permission {LACKS[call]}"
                in (error["message"])
            )


async def test_an_extra_permission_adds_to_the_roles(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    await declare_components(api_settings)
    token = await make_token(
        api_settings,
        "viewer-plus",
        "viewer",
        repositories=["acme/web"],
        permissions=[{"resource": "releases", "action": "create"}],
    )
    made = await api.post("/api/v1/releases", json=release_body(), headers=bearer(token))
    assert made.status_code == 201, made.text


async def test_a_repository_outside_the_scope_is_403(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    await declare_components(api_settings, "acme/web")
    await declare_components(api_settings, "acme/api")
    wide = await creator_headers(api_settings, "wide")
    other = release_body("api-v1")
    other["sourceRef"]["repository"] = "https://github.com/acme/api"
    theirs = await api.post("/api/v1/releases", json=other, headers=wide)
    assert theirs.status_code == 201
    ours = await api.post("/api/v1/releases", json=release_body(), headers=wide)
    assert ours.status_code == 201

    narrow = bearer(
        await make_token(api_settings, "narrow", "release-creator", repositories=["acme/web"])
    )
    refused = [
        await api.post("/api/v1/releases", json=other, headers=narrow),
        await api.get(f"/api/v1/releases/{theirs.json()['data']['id']}", headers=narrow),
        await api.get("/api/v1/releases?repository=github:acme/api", headers=narrow),
        await api.get(
            "/api/v1/releases", params={"repository": "https://github.com/acme/api"}, headers=narrow
        ),
    ]
    for answer in refused:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "repository_not_in_scope"
        assert (
            "'narrow' may not act on github:acme/api (its repositories: acme/web)"
            in (answer.json()["error"]["message"])
        )
    listed = await api.get("/api/v1/releases", headers=narrow)
    assert [r["name"] for r in listed.json()["data"]["items"]] == ["web-v1.2.0"]
    unqualified = await api.get("/api/v1/releases?repository=acme/api", headers=narrow)
    assert unqualified.json()["data"]["items"] == []


async def test_a_token_is_in_the_answer_that_made_it_and_nowhere_else(
    api: httpx.AsyncClient, api_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await declare_components(api_settings)
    admin = bearer(await make_token(api_settings, "root", "admin"))
    made = await api.post(
        "/api/v1/service-accounts",
        json={"name": "pipeline", "roles": ["release-creator"], "repositories": ["acme/*"]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    token = made.json()["data"]["token"]
    assert token.startswith("shipyard_sa_")
    assert token in made.text
    secret = token.removeprefix("shipyard_sa_")

    headers = bearer(token)
    answers = [
        await api.post("/api/v1/releases", json=release_body(), headers=headers),
        await api.post("/api/v1/releases", json=release_body(), headers=headers),
        await api.get("/api/v1/releases", headers=headers),
        await api.get("/api/v1/releases/1", headers=headers),
        await api.post("/api/v1/releases", content=b"{not json", headers=headers),
        await api.post("/api/v1/releases", json={"name": token}, headers=headers),
        await api.post("/api/v1/service-accounts", json=ACCOUNT, headers=headers),
        await api.get("/api/v1/service-accounts", headers=admin),
        await api.get("/api/v1/releases", headers=bearer(token + "x")),
        await api.get("/api/v1/openapi.json"),
    ]
    assert {a.status_code for a in answers} >= {200, 201, 400, 401, 403, 422}
    for answer in answers:
        assert secret not in answer.text, answer.request.url
        assert secret not in str(answer.headers)
    assert secret not in caplog.text
    dump = await everything(api_settings)
    assert "pipeline" in dump
    assert secret not in dump
