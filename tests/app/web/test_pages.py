"""Shipyard's own pages: a delivery says what became of it; unknown ids are 404 pages."""

from __future__ import annotations

from app.main import create_app
from app.settings import Settings
from tests.support.deliveries import delivery
from tests.support.hosts import pull_request_delivery
from tests.support.http import running


async def test_a_delivery_page_says_which_settings_would_let_shipyard_act(
    settings: Settings,
) -> None:
    app = create_app(settings)  # no GITHUB_TOKEN / App: GitHub is not configured
    event, payload = pull_request_delivery("github")
    body, headers = delivery("github", event, payload)
    async with running(app) as client:
        assert (
            await client.post("/webhooks/github", content=body, headers=headers)
        ).status_code == 202
        await app.state.services.queue.join()
        page = await client.get("/deliveries/1")
        missing = await client.get("/deliveries/999")
        bogus = await client.get("/runs/not-a-number")
        runs = await client.get("/runs")
    assert page.status_code == 200
    assert "GitHub is not configured: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY" in page.text
    assert (missing.status_code, bogus.status_code) == (404, 404)
    assert "There is no delivery 999" in missing.text
    assert "No runs yet" in runs.text
