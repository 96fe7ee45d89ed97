"""`/api/v1/locks`: the locks held, within the account's repositories (by `repo` too), read
with the permission that reads deployments; forcing one open (admin only), recorded as the
account's forced release; 404 for an unknown lock, 409 for one no longer held."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from app.db.engine import SessionFactory, create_engine, session_factory
from app.environments.locks import get_lock, release_lock, take_lock
from app.settings import Settings
from tests.support.api import bearer, make_token

HOUR = 3600.0


@pytest.fixture
async def sessions(api_settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(api_settings)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def admin(api_settings: Settings) -> dict[str, str]:
    return bearer(await make_token(api_settings, "root", "admin"))


async def lock(
    sessions: SessionFactory,
    repository: str,
    environment: str | None,
    holder: str,
    *,
    provider: str = "github",
    reason: str | None = None,
    pr: int | None = None,
    ttl: float = HOUR,
) -> int:
    taken = await take_lock(
        sessions,
        provider=provider,
        repository=repository,
        environment=environment,
        holder=holder,
        reason=reason,
        pr_number=pr,
        ttl_seconds=ttl,
        sticky=pr is not None,
    )
    assert taken.won
    assert taken.lock.id is not None
    return taken.lock.id


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_an_account_sees_its_repositories_locks(
    api: httpx.AsyncClient,
    api_settings: Settings,
    sessions: SessionFactory,
    admin: dict[str, str],
) -> None:
    web = await lock(sessions, "acme/web", "production", "github:alice", reason="db", pr=12)
    everywhere = await lock(sessions, "acme/web", None, "cli:root", reason="freeze")
    other = await lock(sessions, "acme/other", "staging", "github:bob")
    group = await lock(sessions, "group/app", "qa", "gitlab:eve", provider="gitlab")
    deployer = bearer(
        await make_token(api_settings, "ci", "deployer", repositories=["github:acme/web"])
    )

    listed = await api.get("/api/v1/locks", headers=deployer)
    assert listed.status_code == 200, listed.text
    items = listed.json()["data"]["items"]
    assert [item["id"] for item in items] == [everywhere, web]
    shown = items[1]
    stored = await get_lock(sessions, web)
    assert stored is not None
    assert shown == {
        "id": web,
        "repository": "github:acme/web",
        "environment": "production",
        "holder": "github:alice",
        "reason": "db",
        "pr": 12,
        "sticky": True,
        "createdAt": shown["createdAt"],
        "expiresAt": shown["expiresAt"],
    }
    assert moment(shown["createdAt"]) == stored.created_at
    assert moment(shown["expiresAt"]) == stored.expires_at
    assert (items[0]["environment"], items[0]["pr"], items[0]["sticky"]) == (None, None, False)

    everything = await api.get("/api/v1/locks", headers=admin)
    assert [item["id"] for item in everything.json()["data"]["items"]] == [
        other,
        everywhere,
        web,
        group,
    ]
    one = await api.get("/api/v1/locks", params={"repo": "gitlab:group/app"}, headers=admin)
    assert [item["id"] for item in one.json()["data"]["items"]] == [group]
    named = await api.get("/api/v1/locks", params={"repo": "acme/web"}, headers=deployer)
    assert [item["id"] for item in named.json()["data"]["items"]] == [everywhere, web]

    outside = await api.get("/api/v1/locks", params={"repo": "github:acme/other"}, headers=deployer)
    assert outside.status_code == 403
    assert outside.json()["error"]["code"] == "repository_not_in_scope"
    disallowed = await api.get("/api/v1/locks", params={"repo": "github:evil/app"}, headers=admin)
    assert disallowed.status_code == 403
    assert disallowed.json()["error"]["code"] == "repository_not_allowed"


async def test_reading_locks_needs_the_deployments_read_permission(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    creator = bearer(
        await make_token(api_settings, "builder", "release-creator", repositories=["acme/*"])
    )
    refused = await api.get("/api/v1/locks", headers=creator)
    assert refused.status_code == 403
    assert "deployments:read" in refused.json()["error"]["message"]
    assert (await api.get("/api/v1/locks")).status_code == 401
    viewer = bearer(await make_token(api_settings, "eyes", "viewer", repositories=["acme/*"]))
    assert (await api.get("/api/v1/locks", headers=viewer)).json()["data"]["items"] == []


async def test_an_admin_forces_a_lock_open(
    api: httpx.AsyncClient,
    api_settings: Settings,
    sessions: SessionFactory,
    admin: dict[str, str],
) -> None:
    held = await lock(sessions, "acme/web", "production", "github:alice", reason="db")
    deployer = bearer(await make_token(api_settings, "ci", "deployer", repositories=["acme/*"]))
    refused = await api.delete(f"/api/v1/locks/{held}", headers=deployer)
    assert refused.status_code == 403
    assert "only an admin account forces a lock open" in refused.json()["error"]["message"]
    still = await get_lock(sessions, held)
    assert still is not None
    assert still.slot is not None

    released = await api.delete(f"/api/v1/locks/{held}", headers=admin)
    assert released.status_code == 200, released.text
    data = released.json()["data"]
    assert (data["id"], data["holder"], data["releasedBy"], data["forced"]) == (
        held,
        "github:alice",
        "root",
        True,
    )
    row = await get_lock(sessions, held)
    assert row is not None
    assert (row.slot, row.released_by, row.forced) == (None, "root", True)
    assert moment(data["releasedAt"]) == row.released_at
    assert (await api.get("/api/v1/locks", headers=admin)).json()["data"]["items"] == []

    again = await api.delete(f"/api/v1/locks/{held}", headers=admin)
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "lock_not_held",
        "message": f"lock {held} is no longer held: root released it",
    }
    unknown = await api.delete("/api/v1/locks/999999", headers=admin)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "no lock has the id 999999"


async def test_only_the_lock_asked_for_is_released(
    api: httpx.AsyncClient, sessions: SessionFactory, admin: dict[str, str]
) -> None:
    first = await lock(sessions, "acme/web", "staging", "github:alice")
    await release_lock(
        sessions, provider="github", repository="acme/web", environment="staging", by="github:alice"
    )
    second = await lock(sessions, "acme/web", "staging", "github:bob")
    stale = await api.delete(f"/api/v1/locks/{first}", headers=admin)
    assert stale.status_code == 409
    assert stale.json()["error"]["message"] == (
        f"lock {first} is no longer held: github:alice released it"
    )
    row = await get_lock(sessions, second)
    assert row is not None
    assert row.slot == "github:acme/web:staging"  # bob's lock, taken since, is still held


async def test_an_expired_lock_is_no_longer_held(
    api: httpx.AsyncClient, sessions: SessionFactory, admin: dict[str, str]
) -> None:
    taken = await take_lock(
        sessions,
        provider="github",
        repository="acme/web",
        environment="staging",
        holder="github:alice",
        reason=None,
        pr_number=None,
        ttl_seconds=HOUR,
        now=datetime(2020, 1, 1, 12, 0, tzinfo=UTC),
    )
    assert (await api.get("/api/v1/locks", headers=admin)).json()["data"]["items"] == []
    expired = await api.delete(f"/api/v1/locks/{taken.lock.id}", headers=admin)
    assert expired.status_code == 409
    assert expired.json()["error"]["message"] == (
        f"lock {taken.lock.id} is no longer held: it expired at 2020-01-01 13:00 UTC"
    )
