"""POST /webhooks/{provider}: verify, dedupe, store, enqueue, answer — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery, github_signature
from tests.support.http import running
from tests.support.settings import make_settings


async def deliver(
    settings: Settings, provider: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST one delivery to a new app and wait until its queue has handled it."""
    app = create_app(settings)
    async with running(app) as client:
        response = await client.post(f"/webhooks/{provider}", content=body, headers=headers)
        await app.state.services.queue.join()
    return response


@pytest.mark.parametrize(
    ("provider", "event"),
    [
        ("github", "push"),
        ("gitlab", "Push Hook"),
        ("gitea", "push"),
        ("forgejo", "push"),
    ],
)
async def test_signed_delivery_is_stored_processed_and_answered_202(
    settings: Settings, provider: str, event: str
) -> None:
    body, headers = delivery(provider, event, PUSH, delivery_id="d-1")
    response = await deliver(settings, provider, body, headers)
    assert response.status_code == 202
    assert response.json() == {
        "delivery_id": "d-1",
        "provider": provider,
        "event": event,
        "status": "queued",
    }
    [row] = await stored(settings)
    assert (row.provider, row.delivery_id, row.event, row.body) == (provider, "d-1", event, body)
    assert row.status == "processed"
    assert row.attempts == 1
    assert row.kind == "push"
    assert row.normalised is not None
    assert row.normalised["branch"] == "main"
    assert row.normalised["delivery_id"] == "d-1"


async def test_gitlab_idempotency_key_wins_over_event_uuid(settings: Settings) -> None:
    body, headers = delivery("gitlab", "Push Hook", PUSH, delivery_id="uuid-1")
    headers["Idempotency-Key"] = "idem-1"
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/gitlab", content=body, headers=headers)
    assert response.json()["delivery_id"] == "idem-1"
    [row] = await stored(settings)
    assert "x-gitlab-token" not in row.headers
    assert row.headers["x-gitlab-event"] == "Push Hook"


@pytest.mark.parametrize(
    ("provider", "setting"),
    [
        ("github", "GITHUB_WEBHOOK_SECRET"),
        ("gitlab", "GITLAB_WEBHOOK_SECRET"),
        ("gitea", "GITEA_WEBHOOK_SECRET"),
        ("forgejo", "GITEA_WEBHOOK_SECRET"),
    ],
)
async def test_no_secret_configured_refuses_and_names_the_setting(
    migrated: str, provider: str, setting: str
) -> None:
    settings = make_settings(migrated, **{setting: ""})
    body, headers = delivery(provider, "push", PUSH)
    async with running(create_app(settings)) as client:
        response = await client.post(f"/webhooks/{provider}", content=body, headers=headers)
    assert response.status_code == 401
    assert setting in response.json()["error"]
    assert await stored(settings) == []


async def test_allow_unsigned_for_local_experiments(migrated: str) -> None:
    settings = make_settings(
        migrated, GITHUB_WEBHOOK_SECRET="", SHIPYARD_ALLOW_UNSIGNED_WEBHOOKS="true"
    )
    async with running(create_app(settings)) as client:
        response = await client.post(
            "/webhooks/github",
            json=PUSH,
            headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "u-1"},
        )
    assert response.status_code == 202


async def test_a_configured_secret_is_checked_even_when_unsigned_is_allowed(migrated: str) -> None:
    settings = make_settings(migrated, SHIPYARD_ALLOW_UNSIGNED_WEBHOOKS="true")
    async with running(create_app(settings)) as client:
        response = await client.post(
            "/webhooks/github", json=PUSH, headers={"X-GitHub-Event": "push"}
        )
    assert response.status_code == 401


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea", "forgejo"])
async def test_tampered_and_unsigned_deliveries_get_401_and_are_not_stored(
    settings: Settings, provider: str
) -> None:
    body, headers = delivery(provider, "push", PUSH)
    tampered = body.replace(b"main", b"prod")
    unsigned = {
        k: v
        for k, v in headers.items()
        if k
        not in {"X-Hub-Signature-256", "X-Gitlab-Token", "X-Gitea-Signature", "X-Forgejo-Signature"}
    }
    async with running(create_app(settings)) as client:
        if provider != "gitlab":  # GitLab's token does not cover the body
            response = await client.post(f"/webhooks/{provider}", content=tampered, headers=headers)
            assert response.status_code == 401
        response = await client.post(f"/webhooks/{provider}", content=body, headers=unsigned)
        assert response.status_code == 401
        assert "missing" in response.json()["error"]
    assert await stored(settings) == []


@pytest.mark.parametrize(
    ("provider", "content_type", "body", "status"),
    [
        ("github", "application/json", b"{not json", 400),
        ("github", "application/json", b"[1, 2]", 400),
        ("github", "application/json", b"\xff\xfe", 400),
        ("github", "text/plain", b"{}", 415),
        ("github", "application/x-www-form-urlencoded", b"nopayload=1", 400),
        ("gitlab", "application/x-www-form-urlencoded", b"payload=%7B%7D", 415),
        ("gitlab", "application/json", b"", 400),
        ("gitea", "application/json", b"null", 400),
        ("forgejo", "application/xml", b"<a/>", 415),
    ],
)
async def test_bodies_the_hosts_do_not_send(
    settings: Settings, provider: str, content_type: str, body: bytes, status: int
) -> None:
    _, headers = delivery(provider, "push", b"")
    _, headers = delivery(provider, "push", body, delivery_id=headers.get("X-GitHub-Delivery"))
    headers["Content-Type"] = content_type
    async with running(create_app(settings)) as client:
        response = await client.post(f"/webhooks/{provider}", content=body, headers=headers)
    assert response.status_code == status
    assert "error" in response.json()
    assert await stored(settings) == []


async def test_github_form_encoded_delivery_is_accepted(settings: Settings) -> None:
    body = urlencode({"payload": json.dumps(PUSH)}).encode()
    _, headers = delivery("github", "push", body, delivery_id="form-1")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = await deliver(settings, "github", body, headers)
    assert response.status_code == 202
    [row] = await stored(settings)
    assert row.status == "processed"
    assert row.kind == "push"


async def test_missing_event_header_is_400(settings: Settings) -> None:
    body, headers = delivery("github", "push", PUSH)
    del headers["X-GitHub-Event"]
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 400
    assert "x-github-event" in response.json()["error"]


async def test_unknown_provider_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/bitbucket", json={})
    assert response.status_code == 404
    assert "github" in response.json()["error"]


async def test_get_on_the_webhook_url_is_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/webhooks/github")
    assert response.status_code == 405


async def test_github_ping_answers_200_and_is_kept(settings: Settings) -> None:
    body, headers = delivery("github", "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["status"] == "pong"
    [row] = await stored(settings)
    assert (row.event, row.status) == ("ping", "ignored")


async def test_unknown_event_is_stored_acknowledged_and_ignored(settings: Settings) -> None:
    body, headers = delivery("github", "sponsorship", {"action": "created"})
    response = await deliver(settings, "github", body, headers)
    assert response.status_code == 202
    [row] = await stored(settings)
    assert (row.event, row.action, row.kind, row.status) == (
        "sponsorship",
        "created",
        "other",
        "ignored",
    )


async def test_duplicate_is_acknowledged_and_not_processed_again(settings: Settings) -> None:
    app = create_app(settings)
    body, headers = delivery("github", "push", PUSH, delivery_id="same")
    async with running(app) as client:
        first = await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
        second = await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["duplicate"] is True
    [row] = await stored(settings)
    assert row.attempts == 1


async def test_duplicate_after_a_restart(settings: Settings) -> None:
    body, headers = delivery("gitea", "push", PUSH, delivery_id="restart")
    for expected in (202, 200):
        response = await deliver(settings, "gitea", body, headers)
        assert response.status_code == expected
    [row] = await stored(settings)
    assert (row.status, row.attempts) == ("processed", 1)


async def test_concurrent_duplicates_process_exactly_once(settings: Settings) -> None:
    app = create_app(settings)
    body, headers = delivery("github", "push", PUSH, delivery_id="burst")
    async with running(app) as client:
        responses = await asyncio.gather(
            *(client.post("/webhooks/github", content=body, headers=headers) for _ in range(25))
        )
        await app.state.services.queue.join()
    codes = sorted(response.status_code for response in responses)
    assert codes == [200] * 24 + [202]
    [row] = await stored(settings)
    assert (row.status, row.attempts) == ("processed", 1)


async def test_a_payload_that_cannot_be_normalised_is_recorded_as_failed(
    settings: Settings,
) -> None:
    body, headers = delivery("github", "push", {"repository": "not-an-object"})
    response = await deliver(settings, "github", body, headers)
    assert response.status_code == 202
    [row] = await stored(settings)
    assert row.status == "failed"
    assert row.error
    assert "repository" in row.error


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_signature_header_from_another_secret(settings: Settings) -> None:
    body, headers = delivery("github", "push", PUSH)
    headers["X-Hub-Signature-256"] = github_signature(body, "not the secret")
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 401
