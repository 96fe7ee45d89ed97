"""The `/integrations` page, on SQLite and PostgreSQL: for admins only, behind the sign-in
door; each integration's type, provider, labels, health with its last check and each level's
result, latency and message, and the breaker's position; a credential shown as its reference,
never its value; what people wrote escaped."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from markupsafe import escape

from app.integrations import store
from app.integrations.hub import Hub
from app.integrations.model import Integration
from tests.support.integrations import (
    TOKEN_VARIABLE,
    FakeService,
    fake_service,
    use_test_provider,
    with_test_provider,
)
from tests.support.pages import Pages, signed_in_pages

TOKEN = "svc-token-3f2e1d0c-never-shown"
HOSTILE = "<script>alert('owned')</script>"


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    async with fake_service(TOKEN, {"acme/web": ["v1"]}) as service:
        yield service


@pytest.fixture
async def pages(migrated: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Pages]:
    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    use_test_provider(monkeypatch)
    async with signed_in_pages(migrated, admins="github:boss", answers={}) as pages:
        yield pages


def hub_of(pages: Pages) -> Hub:
    hub: Hub = pages.app.state.services.integrations
    return hub


async def register(pages: Pages, name: str, endpoint: str, description: str = "") -> Integration:
    return await store.create_integration(
        pages.sessions,
        pages.settings,
        with_test_provider(),
        name=name,
        type="registry",
        provider="test-service",
        config={"endpoint": endpoint, "retries": 0},
        credential_ref=f"env://{TOKEN_VARIABLE}",
        labels={"env": "prod"},
        description=description,
    )


def row_of(text: str, integration_id: int) -> str:
    start = text.index(f'<tr id="integration-{integration_id}">')
    return text[start : text.index("</tr>", start)]


def cells_of(row: str) -> list[str]:
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


async def test_an_admin_sees_each_integrations_health_and_breaker(
    pages: Pages, service: FakeService
) -> None:
    checked = await register(pages, "svc", service.url, description=HOSTILE)
    never = await register(pages, "idle", service.url)
    report = await hub_of(pages).test(checked.id)
    assert report.health == "healthy"

    pages.sign_in("github", "boss")
    page = await pages.client.get("/integrations")
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "private, no-store"
    cells = cells_of(row_of(page.text, checked.id))
    name, kind, provider, health, connectivity, authentication, functionality = cells[:7]
    breaker, labels, credential = cells[7:]
    assert name.startswith("svc")
    assert service.url in name
    assert (kind, provider) == ("registry", "test-service")
    assert health.startswith("healthy last check 20")
    assert re.fullmatch(r"✓ \d+\.\d ms reachable · \d\d:\d\d:\d\d", connectivity), connectivity
    assert re.fullmatch(
        r"✓ \d+\.\d ms signed in as shipyard-bot · \d\d:\d\d:\d\d", authentication
    ), authentication
    assert re.fullmatch(r"✓ \d+\.\d ms 1 repositories · \d\d:\d\d:\d\d", functionality)
    assert (breaker, labels, credential) == ("closed", "env=prod", f"env://{TOKEN_VARIABLE}")
    assert str(escape(HOSTILE)) in page.text
    assert HOSTILE not in page.text
    assert TOKEN not in page.text

    idle = cells_of(row_of(page.text, never.id))
    assert idle[3] == "unknown never checked"
    assert idle[4:7] == ["—", "—", "—"]

    breakers = hub_of(pages).breakers
    for _ in range(breakers.policy.failure_threshold):
        breakers.record("svc", ok=False)
    opened = cells_of(row_of((await pages.client.get("/integrations")).text, checked.id))
    assert opened[7] == "open"


async def test_a_failed_check_shows_its_code_and_message(
    pages: Pages, service: FakeService
) -> None:
    made = await register(pages, "svc", service.url)
    service.token = "another-token"
    await hub_of(pages).test(made.id)

    pages.sign_in("github", "boss")
    cells = cells_of(row_of((await pages.client.get("/integrations")).text, made.id))
    assert cells[3].startswith("unhealthy")
    assert cells[4].startswith("✓")
    assert re.match(r"✗ \d+\.\d ms AUTHENTICATION_FAILED: who am I: the credential", cells[5])


async def test_nobody_else_sees_it(pages: Pages) -> None:
    door = await pages.client.get("/integrations")
    assert door.status_code == 303
    assert door.headers["location"].startswith("/login?next=")

    pages.sign_in("github", "octocat")
    refused = await pages.client.get("/integrations")
    assert refused.status_code == 403
    assert "for Shipyard&#39;s admins" in refused.text


async def test_no_integrations_yet(pages: Pages) -> None:
    pages.sign_in("github", "boss")
    page = await pages.client.get("/integrations")
    assert page.status_code == 200
    assert "No integrations are registered" in page.text
    assert "<table>" not in page.text
