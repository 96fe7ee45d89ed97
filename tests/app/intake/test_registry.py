"""POST /webhooks/registry: a container registry's notifications, each event of an envelope
its own delivery — on SQLite and PostgreSQL, with the events a real registry sent."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.intake.registry import events_of
from app.main import create_app
from app.settings import Settings
from tests.support.database import stored
from tests.support.http import running
from tests.support.registry import WEBHOOK_TOKEN, notification_headers
from tests.support.samples import load_sample
from tests.support.settings import make_settings

MANIFEST_DIGEST = "sha256:ff8910c2005dc2c65d104079c67d226821b0d65455f6ed81ba7150ccfefd1646"


@pytest.fixture
def settings(migrated: str) -> Settings:
    return make_settings(migrated, SHIPYARD_REGISTRY_WEBHOOK_TOKEN=WEBHOOK_TOKEN)


def envelope() -> dict[str, Any]:
    """Two blob pushes and the manifest push of one image, as the registry sent them."""
    data: dict[str, Any] = load_sample("registry", "envelope")
    return data


def ids(payload: dict[str, Any]) -> list[str]:
    return [event["id"] for event in payload["events"]]


async def post(
    settings: Settings, *bodies: bytes, headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    """POST each body to one app, in turn, and wait until its queue has handled them."""
    app = create_app(settings)
    async with running(app) as client:
        responses = [
            await client.post(
                "/webhooks/registry", content=body, headers=headers or notification_headers()
            )
            for body in bodies
        ]
        await app.state.services.queue.join()
    return responses


async def test_each_event_is_a_delivery_stored_and_processed(settings: Settings) -> None:
    payload = envelope()
    [response] = await post(settings, json.dumps(payload).encode())

    assert response.status_code == 202
    assert response.json() == {
        "provider": "registry",
        "deliveries": [{"delivery_id": each, "status": "queued"} for each in ids(payload)],
    }
    rows = await stored(settings)
    assert [(row.provider, row.delivery_id, row.event, row.action) for row in rows] == [
        ("registry", each, "push", "push") for each in ids(payload)
    ]
    for row, event in zip(rows, payload["events"], strict=True):
        assert json.loads(row.body) == event  # the event alone, not the envelope
        assert row.signed
        assert "authorization" not in row.headers
    blob, layer, manifest = rows
    assert [blob.kind, layer.kind, manifest.kind] == ["other", "other", "package"]
    assert [blob.status, layer.status] == ["ignored", "ignored"]
    assert manifest.status == "processed", manifest.error
    assert manifest.normalised is not None
    assert manifest.normalised["package"] == {
        "host": "127.0.0.1:48227",
        "image": "acme/web",
        "tag": "1.0",
        "digest": MANIFEST_DIGEST,
        "media_type": "application/vnd.docker.distribution.manifest.v2+json",
        "action": "push",
    }


async def test_an_envelope_sent_again_is_all_duplicates_and_answered_200(
    settings: Settings,
) -> None:
    body = json.dumps(envelope()).encode()
    first, again = await post(settings, body, body)
    assert first.status_code == 202
    assert again.status_code == 200
    assert {each["status"] for each in again.json()["deliveries"]} == {"duplicate"}
    assert len(await stored(settings)) == 3


async def test_events_batched_anew_are_the_same_deliveries(settings: Settings) -> None:
    """A registry that retries may batch an event with others, its keys in another order:
    still the same delivery, stored once."""
    events = envelope()["events"]
    first = json.dumps({"events": events[:2]}).encode()
    manifest = dict(reversed(list(events[2].items())))
    rebatched = json.dumps({"events": [manifest, events[1]]}, indent=2).encode()
    one, two = await post(settings, first, rebatched)
    assert one.status_code == 202
    assert two.status_code == 202
    assert two.json()["deliveries"] == [
        {"delivery_id": events[2]["id"], "status": "queued"},
        {"delivery_id": events[1]["id"], "status": "duplicate"},
    ]
    assert [row.delivery_id for row in await stored(settings)] == [e["id"] for e in events]


def test_an_event_is_stored_one_way_however_it_was_written() -> None:
    event = envelope()["events"][2]
    plain = json.dumps({"events": [event]}).encode()
    bent = json.dumps({"events": [dict(reversed(list(event.items())))]}, indent=4).encode()
    headers = {"content-type": "application/json"}
    assert events_of(headers, plain) == events_of(headers, bent)


async def test_plain_json_is_accepted_too(settings: Settings) -> None:
    headers = {**notification_headers(), "content-type": "application/json"}
    [response] = await post(settings, json.dumps(envelope()).encode(), headers=headers)
    assert response.status_code == 202


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {WEBHOOK_TOKEN}", "Bearer ", WEBHOOK_TOKEN],
)
async def test_without_the_right_bearer_token_nothing_is_stored(
    settings: Settings, authorization: str | None
) -> None:
    headers = notification_headers()
    del headers["authorization"]
    if authorization is not None:
        headers["authorization"] = authorization
    [response] = await post(settings, json.dumps(envelope()).encode(), headers=headers)
    assert response.status_code == 401
    assert "Authorization" in response.json()["error"]
    assert await stored(settings) == []


async def test_with_no_token_configured_every_notification_is_refused(migrated: str) -> None:
    settings = make_settings(migrated)
    [response] = await post(settings, json.dumps(envelope()).encode())
    assert response.status_code == 401
    assert "SHIPYARD_REGISTRY_WEBHOOK_TOKEN" in response.json()["error"]
    assert await stored(settings) == []


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"not json", "body is not valid JSON"),
        (b"[]", "body must be a JSON object"),
        (b'{"events": {}}', "has no events list"),
        (b'{"events": [1]}', "events[0] is not an object"),
        (b'{"events": [{"action": "push"}]}', "events[0].id should be a non-empty string"),
        (b'{"events": [{"id": "e", "action": ""}]}', "events[0].action should be a non-empty"),
        (b'{"events": [{"id": "e\\u0000", "action": "push"}]}', "events[0].id holds a control"),
        (
            json.dumps({"events": [{"id": "e" * 201, "action": "push"}]}).encode(),
            "events[0].id is 201 characters long",
        ),
    ],
)
async def test_a_malformed_envelope_is_400_and_nothing_is_stored(
    settings: Settings, body: bytes, said: str
) -> None:
    [response] = await post(settings, body)
    assert response.status_code == 400
    assert said in response.json()["error"]
    assert await stored(settings) == []


async def test_a_body_that_is_not_json_by_its_type_is_415(settings: Settings) -> None:
    headers = {**notification_headers(), "content-type": "text/plain"}
    [response] = await post(settings, json.dumps(envelope()).encode(), headers=headers)
    assert response.status_code == 415


async def test_a_body_over_the_limit_is_413(migrated: str) -> None:
    settings = make_settings(
        migrated, SHIPYARD_REGISTRY_WEBHOOK_TOKEN=WEBHOOK_TOKEN, SHIPYARD_MAX_WEBHOOK_BYTES=1000
    )
    [response] = await post(settings, json.dumps(envelope()).encode())
    assert response.status_code == 413
    assert await stored(settings) == []


async def test_an_empty_envelope_stores_nothing_and_is_answered_200(settings: Settings) -> None:
    [response] = await post(settings, b'{"events": []}')
    assert response.status_code == 200
    assert response.json() == {"provider": "registry", "deliveries": []}


async def test_other_providers_are_still_answered_by_their_own_intake(settings: Settings) -> None:
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/nowhere", content=b"{}")
    assert response.status_code == 404
    assert "registry" in response.json()["error"]


async def test_a_registry_delivery_has_its_page(settings: Settings) -> None:
    app = create_app(settings)
    async with running(app) as client:
        posted = await client.post(
            "/webhooks/registry",
            content=json.dumps(envelope()).encode(),
            headers=notification_headers(),
        )
        assert posted.status_code == 202
        await app.state.services.queue.join()
        page = await client.get("/deliveries/3")
    assert page.status_code == 200
    assert "registry: push" in page.text
    assert "<th>Kind</th><td>package</td>" in page.text
