"""`/api/v1/integrations` (admin only), on SQLite and PostgreSQL: the providers (those not in
this version listed as such, test-only ones on request); register, list, read, change and remove
an integration; test it and discover through a test-only provider on a real loopback service;
what is refused (an unavailable provider, a credential given as a value, a taken name, an
unsupported resource type, anyone but an admin), every mistake an answer and never a 500; no
resolved credential in any answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.accounts import InvalidAccount
from app.db.engine import create_engine
from app.main import create_app
from app.settings import Settings
from tests.support.api import bearer, make_token
from tests.support.http import running
from tests.support.integrations import (
    TOKEN_VARIABLE,
    FakeService,
    fake_service,
    nothing_listening,
    use_test_provider,
)
from tests.support.settings import make_settings

TOKEN = "svc-token-7c6b5a4d3e2f-never-answered"
HOOK = "https://hooks.example.com/T000/B000/never-stored"
REPOSITORIES = {"acme/web": ["v1.0.0", "v1.1.0", "latest"], "acme/worker": ["v2"], "tools": []}


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    async with fake_service(TOKEN, REPOSITORIES) as service:
        yield service


@pytest.fixture
def settings(migrated: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    monkeypatch.setenv("WRONG_TOKEN", "not-the-token")
    use_test_provider(monkeypatch)
    return make_settings(
        migrated,
        SHIPYARD_REQUEUE_INTERVAL="3600",  # no sweep runs the monitor's checks meanwhile
        SHIPYARD_INTEGRATION_BACKOFF="0",
        SHIPYARD_BREAKER_FAILURES="2",
    )


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings)) as client:
        yield client


@pytest.fixture
async def admin(settings: Settings) -> dict[str, str]:
    return bearer(await make_token(settings, "root", "admin"))


def body(service: FakeService, name: str = "svc", **changes: Any) -> dict[str, Any]:
    made: dict[str, Any] = {
        "name": name,
        "type": "registry",
        "provider": "test-service",
        "description": "the test service",
        "config": {"endpoint": service.url, "retries": 0},
        "credentialRef": f"env://{TOKEN_VARIABLE}",
        "labels": {"env": "prod", "team": "web"},
    }
    made.update(changes)
    return made


async def create(api: httpx.AsyncClient, admin: dict[str, str], made: dict[str, Any]) -> Any:
    answer = await api.post("/api/v1/integrations", json=made, headers=admin)
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]


async def check_rows(settings: Settings) -> list[tuple[int, str]]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text("SELECT integration_id, level FROM integration_checks ORDER BY 1, 2")
            )
            return [(row[0], row[1]) for row in rows]
    finally:
        await engine.dispose()


async def test_providers_list_the_unavailable_and_hide_the_test_only(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = await api.get("/api/v1/integrations/providers", headers=admin)
    assert answer.status_code == 200, answer.text
    listed = {p["name"]: p for p in answer.json()["data"]["items"]}
    assert "test-service" not in listed
    assert listed["circleci"] == {
        "name": "circleci",
        "type": "ci",
        "title": "CircleCI",
        "available": False,
        "supportsDiscovery": False,
        "supportedResourceTypes": [],
        "isTestOnly": False,
        "note": "not available in this version",
        "configKeys": ["endpoint", "retries", "timeout"],
        "referenceKeys": [],
    }
    for name in ("ecr", "gcr", "acr", "teamcity", "drone", "azure-devops", "datadog"):
        assert listed[name]["available"] is False, name

    everything = await api.get(
        "/api/v1/integrations/providers", params={"includeTestOnly": "true"}, headers=admin
    )
    test_only = {p["name"]: p for p in everything.json()["data"]["items"]}["test-service"]
    assert test_only["isTestOnly"] is True
    assert test_only["available"] is True
    assert test_only["note"] is None
    assert test_only["supportsDiscovery"] is True
    assert test_only["supportedResourceTypes"] == ["repositories", "tags"]
    assert test_only["referenceKeys"] == ["hook"]
    assert "hook" in test_only["configKeys"]


async def test_an_admin_registers_reads_changes_and_removes_one(
    api: httpx.AsyncClient, admin: dict[str, str], settings: Settings, service: FakeService
) -> None:
    made = await create(api, admin, body(service))
    assert made["name"] == "svc"
    assert made["type"] == "registry"
    assert made["provider"] == "test-service"
    assert made["config"] == {"endpoint": service.url, "retries": 0, "timeout": 10.0}
    assert made["credentialRef"] == f"env://{TOKEN_VARIABLE}"
    assert made["labels"] == {"env": "prod", "team": "web"}
    assert made["health"] == {
        "status": "unknown",
        "lastCheck": None,
        "latencyMs": None,
        "message": None,
        "checks": {},
    }
    assert made["breaker"] == "closed"
    # Its health checks are scheduled the moment it is registered.
    levels = ["authentication", "connectivity", "functionality"]
    assert await check_rows(settings) == [(made["id"], level) for level in levels]

    other = await create(api, admin, body(service, "other", labels={"env": "staging"}))
    listed = await api.get("/api/v1/integrations", headers=admin)
    assert [i["name"] for i in listed.json()["data"]["items"]] == ["other", "svc"]
    for query, names in [
        ({"type": "registry"}, ["other", "svc"]),
        ({"type": "ci"}, []),
        ({"provider": "test-service"}, ["other", "svc"]),
        ({"label": "env:prod"}, ["svc"]),
        ({"label": "env:prod,team:web"}, ["svc"]),
        ({"label": "env:staging"}, ["other"]),
        ({"label": "team:api"}, []),
    ]:
        found = await api.get("/api/v1/integrations", params=query, headers=admin)
        assert found.status_code == 200, (query, found.text)
        assert [i["name"] for i in found.json()["data"]["items"]] == names, query

    by_id = await api.get(f"/api/v1/integrations/{made['id']}", headers=admin)
    by_name = await api.get("/api/v1/integrations/svc", headers=admin)
    assert by_id.json()["data"] == by_name.json()["data"] == made

    changed = await api.patch(
        "/api/v1/integrations/svc",
        json={
            "description": "changed",
            "config": {"timeout": 3, "retries": None},
            "labels": {"team": None, "tier": "1"},
            "authRef": "env://WRONG_TOKEN",
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    now = changed.json()["data"]
    assert now["description"] == "changed"
    assert now["config"] == {"endpoint": service.url, "timeout": 3.0, "retries": 2}
    assert now["labels"] == {"env": "prod", "tier": "1"}
    assert now["credentialRef"] == "env://WRONG_TOKEN"
    removed_ref = await api.patch(
        "/api/v1/integrations/svc", json={"credentialRef": None}, headers=admin
    )
    assert removed_ref.json()["data"]["credentialRef"] is None

    gone = await api.delete(f"/api/v1/integrations/{made['id']}", headers=admin)
    assert gone.status_code == 204
    assert gone.content == b""
    assert {row[0] for row in await check_rows(settings)} == {other["id"]}
    for method in ("GET", "PATCH", "DELETE"):
        answer = await api.request(
            method,
            "/api/v1/integrations/svc",
            json={} if method == "PATCH" else None,
            headers=admin,
        )
        assert answer.status_code == 404, (method, answer.text)
        assert answer.json()["error"]["code"] == "INTEGRATION_NOT_FOUND"


async def test_auth_ref_is_the_documents_name_for_the_credential(
    api: httpx.AsyncClient, admin: dict[str, str], service: FakeService
) -> None:
    made = body(service)
    made["authRef"] = made.pop("credentialRef")
    assert (await create(api, admin, made))["credentialRef"] == f"env://{TOKEN_VARIABLE}"


async def test_what_is_refused_says_why(
    api: httpx.AsyncClient, admin: dict[str, str], service: FakeService
) -> None:
    unavailable = await api.post(
        "/api/v1/integrations",
        json={"name": "circle", "type": "ci", "provider": "circleci", "config": {}},
        headers=admin,
    )
    assert unavailable.status_code == 400
    error = unavailable.json()["error"]
    assert error["code"] == "invalid_integration"
    assert "provider 'circleci' (CircleCI) is not available in this version" in error["message"]

    unknown = await api.post(
        "/api/v1/integrations", json=body(service, provider="no-such"), headers=admin
    )
    assert unknown.status_code == 400
    assert "there is no integration provider 'no-such'" in unknown.json()["error"]["message"]

    value = await api.post(
        "/api/v1/integrations",
        json=body(service, config={"endpoint": service.url, "hook": HOOK}),
        headers=admin,
    )
    assert value.status_code == 400
    assert "hook holds a credential: give a reference" in value.json()["error"]["message"]
    assert value.json()["error"]["fields"][0]["path"] == "body.config"
    assert HOOK not in value.text

    several = await api.post(
        "/api/v1/integrations",
        json=body(service, config={"endpoint": "ftp://x", "colour": "red", "retries": 99}),
        headers=admin,
    )
    assert several.status_code == 400
    paths = sorted(p["path"] for p in several.json()["error"]["fields"])
    assert paths == ["body.config.colour", "body.config.endpoint", "body.config.retries"]
    assert (
        "test-service has no such setting (it has: endpoint, hook, retries, timeout)"
        in (several.json()["error"]["message"])
    )
    named = await api.post("/api/v1/integrations", json=body(service, "Bad Name!"), headers=admin)
    assert named.status_code == 400
    assert named.json()["error"]["fields"][0]["path"] == "body.name"

    own = await api.post(
        "/api/v1/integrations",
        json=body(service, credentialRef="env://SHIPYARD_SESSION_SECRET"),
        headers=admin,
    )
    assert own.status_code == 400, own.text
    assert own.json()["error"]["fields"][0]["path"] == "body.credentialRef"

    await create(api, admin, body(service))
    taken = await api.post("/api/v1/integrations", json=body(service), headers=admin)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "integration_exists"

    bad_patch = await api.patch(
        "/api/v1/integrations/svc", json={"config": {"hook": HOOK}}, headers=admin
    )
    assert bad_patch.status_code == 400
    assert HOOK not in bad_patch.text

    bad_label = await api.get("/api/v1/integrations", params={"label": "env"}, headers=admin)
    assert bad_label.status_code == 422
    assert bad_label.json()["error"]["fields"][0]["path"] == "query.label"


JUNK: list[tuple[str, str, bytes | None]] = [
    ("POST", "/api/v1/integrations", b"not json"),
    ("POST", "/api/v1/integrations", b"[1, 2]"),
    ("POST", "/api/v1/integrations", b'{"name": 1}'),
    ("POST", "/api/v1/integrations", b'{"name": "x", "type": "nope", "provider": "y"}'),
    ("POST", "/api/v1/integrations", b'{"name": "x\\u0000", "type": "ci", "provider": "y"}'),
    ("POST", "/api/v1/integrations", b'{"name": "x", "type": "ci", "provider": "y", '
     b'"config": [], "labels": {"k": 1}}'),
    ("POST", "/api/v1/integrations", b'{"name": "x", "type": "registry", "provider": '
     b'"test-service", "config": {"timeout": "soon", "retries": -1, "endpoint": 7}}'),
    ("POST", "/api/v1/integrations", b'{"name": "x", "type": "registry", "provider": '
     b'"test-service", "labels": {"": "v", "k": "' + b"v" * 300 + b'"}}'),
    ("PATCH", "/api/v1/integrations/svc", b"{"),
    ("PATCH", "/api/v1/integrations/svc", b'{"name": "renamed"}'),
    ("PATCH", "/api/v1/integrations/svc", b'{"config": {"endpoint": null, "timeout": 0}}'),
    ("POST", "/api/v1/integrations/svc/discover", b"{}"),
    ("POST", "/api/v1/integrations/svc/discover", b'{"resourceType": ""}'),
    ("POST", "/api/v1/integrations/svc/discover", b'{"resourceType": "tags", "filter": 3}'),
    ("GET", "/api/v1/integrations?type=nope", None),
    ("GET", "/api/v1/integrations/providers?includeTestOnly=maybe", None),
    ("GET", "/api/v1/integrations/%00", None),
    ("GET", "/api/v1/integrations/" + "x" * 200, None),
    ("POST", "/api/v1/integrations/svc/test", b"ignored"),
    ("POST", "/api/v1/integrations/nope/test", None),
]  # fmt: skip


async def test_junk_is_answered_never_with_a_500(
    api: httpx.AsyncClient, admin: dict[str, str], service: FakeService
) -> None:
    await create(api, admin, body(service))
    for method, path, content in JUNK:
        answer = await api.request(method, path, content=content, headers=admin)
        assert answer.status_code < 500, (method, path, content, answer.text)
        if answer.status_code >= 400:
            assert answer.json()["success"] is False, (method, path)
            assert answer.json()["error"]["message"], (method, path)


async def test_testing_one_checks_each_level_and_stores_its_health(
    api: httpx.AsyncClient, admin: dict[str, str], service: FakeService
) -> None:
    await create(api, admin, body(service))
    answer = await api.post("/api/v1/integrations/svc/test", headers=admin)
    assert answer.status_code == 200, answer.text
    report = answer.json()["data"]
    assert report["success"] is True
    assert report["health"] == "healthy"
    assert list(report["results"]) == ["connectivity", "authentication", "functionality"]
    results = report["results"]
    assert results["connectivity"]["message"] == "reachable"
    assert results["authentication"]["message"] == "signed in as shipyard-bot"
    assert results["functionality"]["message"] == "3 repositories"
    for result in results.values():
        assert result["success"] is True
        assert result["latencyMs"] > 0
        assert result["errorCode"] is None
    assert [(s.path, s.authorization) for s in service.seen] == [
        ("/ping", None),
        ("/whoami", f"Bearer {TOKEN}"),
        ("/repositories", f"Bearer {TOKEN}"),
    ]
    assert TOKEN not in answer.text

    stored = (await api.get("/api/v1/integrations/svc", headers=admin)).json()["data"]
    assert stored["health"]["status"] == "healthy"
    assert stored["health"]["lastCheck"] is not None
    assert stored["health"]["message"] == "ok"
    assert set(stored["health"]["checks"]) == {"connectivity", "authentication", "functionality"}

    await api.patch(
        "/api/v1/integrations/svc", json={"credentialRef": "env://WRONG_TOKEN"}, headers=admin
    )
    refused = await api.post("/api/v1/integrations/svc/test", headers=admin)
    assert refused.status_code == 200
    report = refused.json()["data"]
    assert report["success"] is False
    assert report["health"] == "unhealthy"
    assert report["results"]["connectivity"]["success"] is True
    assert report["results"]["authentication"]["errorCode"] == "AUTHENTICATION_FAILED"
    assert "not-the-token" not in refused.text
    stored = (await api.get("/api/v1/integrations/svc", headers=admin)).json()["data"]
    assert stored["health"]["status"] == "unhealthy"


async def test_an_unreachable_one_is_unhealthy_and_its_other_levels_wait(
    api: httpx.AsyncClient, admin: dict[str, str], service: FakeService
) -> None:
    await create(api, admin, body(service, config={"endpoint": nothing_listening()}))
    report = (await api.post("/api/v1/integrations/svc/test", headers=admin)).json()["data"]
    assert report["health"] == "unhealthy"
    assert report["results"]["connectivity"]["errorCode"] == "CONNECTION_REFUSED"
    for level in ("authentication", "functionality"):
        assert report["results"][level]["message"] == "not checked: it cannot be reached"


async def test_discovery_filters_and_says_what_it_supports(
    api: httpx.AsyncClient, admin: dict[str, str], service: FakeService
) -> None:
    await create(api, admin, body(service))
    path = "/api/v1/integrations/svc/discover"

    found = await api.post(path, json={"resourceType": "repositories"}, headers=admin)
    assert found.status_code == 200, found.text
    data = found.json()["data"]
    assert [r["name"] for r in data["resources"]] == ["acme/web", "acme/worker", "tools"]
    assert data["count"] == 3
    assert data["cached"] is False
    assert data["expiresInSeconds"] == 3600.0

    again = await api.post(
        path, json={"resourceType": "repositories", "filter": {"namePattern": "acme/*"}},
        headers=admin,
    )  # fmt: skip
    assert [r["name"] for r in again.json()["data"]["resources"]] == ["acme/web", "acme/worker"]
    assert again.json()["data"]["cached"] is True
    assert len([s for s in service.seen if s.path == "/repositories"]) == 1

    tags = await api.post(
        path,
        json={"resourceType": "tags", "filter": {"repository": "acme/web", "namePattern": "v1"}},
        headers=admin,
    )
    assert tags.status_code == 200, tags.text
    assert [r["name"] for r in tags.json()["data"]["resources"]] == ["v1.0.0", "v1.1.0"]
    assert tags.json()["data"]["resources"][0]["details"] == {"repository": "acme/web"}

    unsupported = await api.post(path, json={"resourceType": "channels"}, headers=admin)
    assert unsupported.status_code == 400
    error = unsupported.json()["error"]
    assert error["code"] == "UNSUPPORTED"
    assert "(it discovers: repositories, tags)" in error["message"]

    unscoped = await api.post(path, json={"resourceType": "tags"}, headers=admin)
    assert unscoped.status_code == 422
    assert unscoped.json()["error"]["code"] == "INVALID_CONFIG"

    missing = await api.post(
        "/api/v1/integrations/nope/discover", json={"resourceType": "tags"}, headers=admin
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "INTEGRATION_NOT_FOUND"


async def test_a_failing_integration_is_a_502_and_its_open_breaker_says_when_to_retry(
    api: httpx.AsyncClient, admin: dict[str, str], service: FakeService
) -> None:
    await create(api, admin, body(service))
    path = "/api/v1/integrations/svc/discover"
    service.rate_limited_for = 7
    limited = await api.post(path, json={"resourceType": "repositories"}, headers=admin)
    assert limited.status_code == 502
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert limited.headers["retry-after"] == "7"

    await api.patch(
        "/api/v1/integrations/svc", json={"config": {"endpoint": nothing_listening()}},
        headers=admin,
    )  # fmt: skip
    for _ in range(2):  # SHIPYARD_BREAKER_FAILURES
        refused = await api.post(path, json={"resourceType": "repositories"}, headers=admin)
        assert refused.status_code == 502
        assert refused.json()["error"]["code"] == "CONNECTION_REFUSED"
    shown = (await api.get("/api/v1/integrations/svc", headers=admin)).json()["data"]
    assert shown["breaker"] == "open"
    fast = await api.post(path, json={"resourceType": "repositories"}, headers=admin)
    assert fast.status_code == 502
    assert fast.json()["error"]["code"] == "INTEGRATION_UNHEALTHY"
    assert 1 <= int(fast.headers["retry-after"]) <= 60


async def test_only_an_admin_manages_integrations(
    api: httpx.AsyncClient, admin: dict[str, str], settings: Settings, service: FakeService
) -> None:
    await create(api, admin, body(service))
    creator = bearer(await make_token(settings, "ci", "release-creator", repositories=["a/*"]))
    for method, path in [
        ("GET", "/api/v1/integrations/providers"),
        ("GET", "/api/v1/integrations"),
        ("GET", "/api/v1/integrations/svc"),
        ("POST", "/api/v1/integrations"),
        ("PATCH", "/api/v1/integrations/svc"),
        ("DELETE", "/api/v1/integrations/svc"),
        ("POST", "/api/v1/integrations/svc/test"),
        ("POST", "/api/v1/integrations/svc/discover"),
    ]:
        answer = await api.request(method, path, json={}, headers=creator)
        assert answer.status_code == 403, (method, path)
        assert answer.json()["error"]["code"] == "missing_permission"
        anonymous = await api.request(method, path, json={})
        assert anonymous.status_code == 401, (method, path)
    with pytest.raises(InvalidAccount, match="only the role admin manages integrations"):
        await make_token(
            settings, "sneaky", "viewer", repositories=["a/*"],
            permissions=[{"resource": "integrations", "action": "read"}],
        )  # fmt: skip
    assert (await api.get("/api/v1/integrations/svc", headers=admin)).status_code == 200
