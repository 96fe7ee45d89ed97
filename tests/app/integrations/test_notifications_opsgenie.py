"""The Opsgenie provider against a respx fake of the Alerts API: an alert with the dedup key as
its alias and a GenieKey, closed by alias on the next success; the checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from app.integrations.errors import IntegrationError
from app.integrations.notifications import Notifier
from app.integrations.notifications.opsgenie import (
    PROVIDER,
    OpsgenieConfig,
    OpsgenieConnector,
    alias_of,
)
from steps.integrations import Notice
from tests.support.connectors import connect

API = "https://api.eu.opsgenie.test"
KEY = "eb243592-faa2-4ba2-a551q-1afdf565c889"
DEDUP = "shipyard/github/acme/web/production"
ACCEPTED = {"result": "Request will be processed", "took": 0.302, "requestId": "43a29c5c-3dbf"}

FAILED = Notice(
    title="web: production ✗ v1.2.3",
    text="Deploying v1.2.3 to production failed: health check",
    status="failed",
    url="https://shipyard.example/deployments/7",
    fields={"Repository": "acme/web"},
    dedup_key=DEDUP,
)


@pytest.fixture
def opsgenie() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def connector(http: httpx.AsyncClient, **config: Any) -> OpsgenieConnector:
    made = connect(
        PROVIDER,
        http,
        {"api_url": API, **config},
        name="alerts",
        credential_ref="env://OPSGENIE_KEY",
        values={"env://OPSGENIE_KEY": KEY},
    )
    assert isinstance(made, OpsgenieConnector)
    assert isinstance(made, Notifier)
    return made


async def test_a_failure_raises_an_alert_and_a_success_closes_it_by_alias(
    http: httpx.AsyncClient, opsgenie: respx.MockRouter
) -> None:
    create = opsgenie.post(f"{API}/v2/alerts").mock(return_value=httpx.Response(202, json=ACCEPTED))
    close = opsgenie.post(
        f"{API}/v2/alerts/shipyard%2Fgithub%2Facme%2Fweb%2Fproduction/close"
    ).mock(return_value=httpx.Response(202, json=ACCEPTED))
    made = connector(http, tags=["team-web"])

    raised = await made.send(FAILED)
    closed = await made.send(
        Notice(title="web: production ✓ v1.2.4", text="", status="succeeded", dedup_key=DEDUP)
    )

    request = create.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == f"{API}/v2/alerts"
    assert request.headers["authorization"] == f"GenieKey {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "message": "web: production ✗ v1.2.3",
        "alias": DEDUP,
        "description": "Deploying v1.2.3 to production failed: health check\n\n"
        "https://shipyard.example/deployments/7",
        "details": {"status": "failed", "Repository": "acme/web"},
        "priority": "P3",
        "source": "Shipyard",
        "tags": ["shipyard", "failed", "team-web"],
    }
    closing = close.calls.last.request
    assert closing.method == "POST"
    assert str(closing.url) == (  # the alias URL-encoded as one path segment
        f"{API}/v2/alerts/shipyard%2Fgithub%2Facme%2Fweb%2Fproduction/close?identifierType=alias"
    )
    assert closing.headers["authorization"] == f"GenieKey {KEY}"
    assert json.loads(closing.content) == {"source": "Shipyard", "note": "web: production ✓ v1.2.4"}
    assert raised.id == closed.id == DEDUP


async def test_info_is_a_low_priority_alert_and_a_start_sends_nothing(
    http: httpx.AsyncClient, opsgenie: respx.MockRouter
) -> None:
    create = opsgenie.post(f"{API}/v2/alerts").mock(return_value=httpx.Response(202, json=ACCEPTED))
    made = connector(http)

    info = await made.send(Notice(title="heads up", text="", status="info"))
    started = await made.send(Notice(title="go", text="", status="started", dedup_key=DEDUP))

    assert len(create.calls) == 1
    body = json.loads(create.calls.last.request.content)
    assert body["priority"] == "P5"
    assert "alias" not in body
    assert info.id == "43a29c5c-3dbf"
    assert started.id is None


async def test_a_refused_key_is_an_authentication_failure(
    http: httpx.AsyncClient, opsgenie: respx.MockRouter
) -> None:
    opsgenie.post(f"{API}/v2/alerts").mock(
        return_value=httpx.Response(401, json={"message": "Key format is not valid!", "took": 0.0})
    )

    with pytest.raises(IntegrationError) as caught:
        await connector(http).send(FAILED)

    assert caught.value.code == "AUTHENTICATION_FAILED"
    assert KEY not in str(caught.value)


async def test_checks_count_alerts(http: httpx.AsyncClient, opsgenie: respx.MockRouter) -> None:
    opsgenie.get(f"{API}/").mock(return_value=httpx.Response(404))
    count = opsgenie.get(f"{API}/v2/alerts/count").mock(
        return_value=httpx.Response(
            200, json={"data": {"count": 3}, "took": 0.05, "requestId": "r"}
        )
    )
    made = connector(http)

    assert await made.check("connectivity") == "Opsgenie's API answered (HTTP 404)"
    assert await made.check("authentication") == "the API key is accepted"
    assert await made.check("functionality") == "reads alerts (3 open)"
    first, second = (call.request for call in count.calls)
    assert first.headers["authorization"] == f"GenieKey {KEY}"
    assert dict(first.url.params) == {}
    assert dict(second.url.params) == {"query": "status: open"}


def test_a_long_dedup_key_becomes_a_digest_alias() -> None:
    long = "k" * 600
    assert alias_of(DEDUP) == DEDUP
    assert alias_of(long).startswith("shipyard-")
    assert len(alias_of(long)) <= 512
    assert alias_of(long) == alias_of(long)


def test_the_default_endpoint_is_opsgenies() -> None:
    assert OpsgenieConfig().api_url == "https://api.opsgenie.com"
    assert (PROVIDER.name, PROVIDER.type) == ("opsgenie", "notification")
