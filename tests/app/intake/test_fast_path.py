"""The webhook hot path skips the router: `POST /webhooks/<provider>` reaches the intake
directly, everything else still goes through the routes, and an unexpected error is a logged
500 in the application's words, never a traceback to the sender."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.intake import http as intake
from app.main import create_app
from app.settings import Settings
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running


async def test_only_a_post_to_a_providers_webhook_takes_the_hot_path(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    endpoint = intake.receive_webhook

    async def counting(request: Request) -> JSONResponse:
        taken.append(request.url.path)
        return await endpoint(request)

    monkeypatch.setattr(intake, "receive_webhook", counting)
    body, headers = delivery("github", "push", PUSH)
    app = create_app(settings)
    async with running(app) as client:
        stored = await client.post("/webhooks/github", content=body, headers=headers)
        unknown = await client.post("/webhooks/nope", content=body, headers=headers)
        deeper = await client.post("/webhooks/github/x", content=body, headers=headers)
        fetched = await client.get("/webhooks/github")
        await app.state.services.queue.join()
    assert (stored.status_code, unknown.status_code) == (202, 404)
    assert "unknown provider" in unknown.json()["error"]
    assert (deeper.status_code, fetched.status_code) == (404, 405)
    assert taken == ["/webhooks/github", "/webhooks/nope"]


async def test_an_unexpected_error_on_the_hot_path_is_a_logged_500(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: Request) -> JSONResponse:
        raise RuntimeError("a bug")

    monkeypatch.setattr(intake, "receive_webhook", broken)
    body, headers = delivery("github", "push", PUSH)
    async with running(create_app(settings)) as client:
        answer = await client.post("/webhooks/github", content=body, headers=headers)
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error; it has been logged"}
    assert "a bug" not in answer.text
    assert "unhandled error: RuntimeError" in caplog.text
