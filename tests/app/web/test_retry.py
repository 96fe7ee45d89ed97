"""The Retry button of a failed delivery: shown to, and taken from, those who may write to its
repository, with the form's CSRF token; on pages open on loopback, not from another origin."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from app.db.models.deliveries import DeliveryStatus
from app.intake import store
from app.main import create_app
from providers.normalise import normalise
from providers.vocabulary import Permission
from tests.support.deliveries import PUSH
from tests.support.http import running
from tests.support.oauth import (
    SIGN_IN,
    Permissions,
    add_delivery,
    running_https,
    sign_in_as,
    use_permissions,
)
from tests.support.settings import make_settings

PERMISSIONS = {("acme/web", "writer"): Permission.WRITE, ("acme/web", "reader"): Permission.READ}


async def failed_push(app: Starlette) -> int:
    event = normalise("github", "push", PUSH, delivery_id="d-1")
    return await add_delivery(
        app,
        body=json.dumps(PUSH).encode(),
        headers={"content-type": "application/json"},
        normalised=json.loads(event.model_dump_json()),
        kind=str(event.kind),
        status=DeliveryStatus.FAILED,
        error="host was down",
        attempts=1,
    )


async def tries(app: Starlette, pk: int) -> tuple[str, int]:
    await app.state.services.queue.join()
    delivery = await store.get(app.state.services.sessions, pk)
    assert delivery is not None
    return delivery.status, delivery.attempts


@pytest.fixture
async def signed_in_pages(migrated: str) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(make_settings(migrated, **SIGN_IN))
    async with running_https(app) as client:
        use_permissions(app, Permissions(PERMISSIONS))
        yield app, client


async def test_a_writer_sees_the_button_and_retries_the_delivery(
    signed_in_pages: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = signed_in_pages
    pk = await failed_push(app)
    session = sign_in_as(client, app.state.settings, "github", "writer", now=1e10)
    page = await client.get(f"/deliveries/{pk}")
    assert f'action="/deliveries/{pk}/retry"' in page.text
    answer = await client.post(f"/deliveries/{pk}/retry", data={"csrf": session.csrf})
    assert (answer.status_code, answer.headers["location"]) == (303, f"/deliveries/{pk}")
    assert (await tries(app, pk))[1] == 2  # it ran again


async def test_a_reader_sees_no_button_and_is_refused(
    signed_in_pages: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = signed_in_pages
    pk = await failed_push(app)
    session = sign_in_as(client, app.state.settings, "github", "reader", now=1e10)
    page = await client.get(f"/deliveries/{pk}")
    assert page.status_code == 200
    assert "/retry" not in page.text
    answer = await client.post(f"/deliveries/{pk}/retry", data={"csrf": session.csrf})
    assert answer.status_code == 403
    assert "needs write access" in answer.text
    assert await tries(app, pk) == ("failed", 1)


async def test_a_form_without_the_sessions_token_is_refused(
    signed_in_pages: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = signed_in_pages
    pk = await failed_push(app)
    sign_in_as(client, app.state.settings, "github", "writer", now=1e10)
    answer = await client.post(f"/deliveries/{pk}/retry", data={"csrf": "forged"})
    assert answer.status_code == 403
    assert await tries(app, pk) == ("failed", 1)


async def test_open_pages_take_no_retry_from_another_origin(migrated: str) -> None:
    app = create_app(make_settings(migrated))  # loopback: pages open without sign-in
    async with running(app) as client:
        pk = await failed_push(app)
        foreign = await client.post(
            f"/deliveries/{pk}/retry", headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        assert await tries(app, pk) == ("failed", 1)
        own = await client.post(
            f"/deliveries/{pk}/retry", headers={"Origin": "http://127.0.0.1:8000"}
        )
        assert own.status_code == 303
        assert (await tries(app, pk))[1] == 2
