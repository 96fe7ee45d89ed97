"""What the intake will not be fooled by: a replayed body under a new delivery id, headers and
bodies built to crash it, unsigned deliveries and repositories outside the allowlist — while a
host's redelivery of a delivery that failed is processed again."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.db.engine import create_engine, session_factory
from app.db.models.deliveries import Delivery, DeliveryStatus
from app.main import create_app
from app.settings import Settings
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.settings import make_settings


async def test_a_replayed_body_is_a_duplicate_whatever_its_delivery_id(settings: Settings) -> None:
    body, headers = delivery("github", "push", PUSH, delivery_id="first")
    _, replayed = delivery("github", "push", PUSH, delivery_id="another-id")
    unnamed = {k: v for k, v in replayed.items() if k != "X-GitHub-Delivery"}
    app = create_app(settings)
    async with running(app) as client:
        answers = [
            await client.post("/webhooks/github", content=body, headers=h)
            for h in (headers, replayed, unnamed)
        ]
        await app.state.services.queue.join()
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert [a.json()["status"] for a in answers[1:]] == ["duplicate", "duplicate"]
    [row] = await stored(settings)
    assert (row.delivery_id, row.attempts) == ("first", 1)


async def test_a_redelivery_of_a_failed_delivery_is_processed_again(settings: Settings) -> None:
    body, headers = delivery("github", "push", PUSH, delivery_id="d-7")
    app = create_app(settings)
    async with running(app) as client:
        await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
        engine = create_engine(settings)
        async with session_factory(engine)() as session:
            await session.exec(
                update(Delivery)
                .where(col(Delivery.delivery_id) == "d-7")
                .values(status=DeliveryStatus.FAILED, error="host was down")
            )
            await session.commit()
        await engine.dispose()
        again = await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
    assert (again.status_code, again.json()["status"]) == (202, "queued")
    [row] = await stored(settings)
    assert (row.status, row.error, row.attempts) == ("processed", None, 2)


@pytest.mark.parametrize(
    "signature", ["sha256=\u00e9", "sha256=" + "\u00ff" * 64, "\u2603", "sha256="]
)
async def test_a_signature_header_of_any_characters_is_a_401(
    client: httpx.AsyncClient, signature: str
) -> None:
    body = json.dumps(PUSH).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "sig",
        "Content-Type": "application/json",
    }
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"X-Hub-Signature-256", signature.encode("utf-8")))
    response = await client.post("/webhooks/github", content=body, headers=raw)
    assert response.status_code == 401


async def test_a_body_nested_too_deeply_is_a_400(client: httpx.AsyncClient) -> None:
    body = b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"
    _, headers = delivery("github", "push", body, delivery_id="deep")
    response = await client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 400
    assert "nests deeper than 64 levels" in response.json()["error"]


async def test_an_unsigned_delivery_is_stored_and_acts_on_nothing(migrated: str) -> None:
    settings = make_settings(
        migrated, GITHUB_WEBHOOK_SECRET="", SHIPYARD_ALLOW_UNSIGNED_WEBHOOKS="true"
    )
    body = json.dumps(PUSH).encode()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "u-1"}
    app = create_app(settings)
    async with running(app) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
    assert response.status_code == 202
    [row] = await stored(settings)
    assert (row.signed, row.status, row.kind) == (False, "ignored", "push")
    assert row.outcome == {
        "note": "unsigned: accepted without a webhook secret, so it acts on nothing"
    }


async def test_a_repository_outside_the_allowlist_is_stored_and_ignored(migrated: str) -> None:
    settings = make_settings(migrated, SHIPYARD_REPO_ALLOWLIST="github:other/*, gitlab:acme/**")
    body, headers = delivery("github", "push", PUSH, delivery_id="a-1")
    app = create_app(settings)
    async with running(app) as client:
        await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
    [row] = await stored(settings)
    assert (row.status, row.kind) == ("ignored", "push")
    assert row.outcome == {"note": "github:acme/web is not in SHIPYARD_REPO_ALLOWLIST"}
