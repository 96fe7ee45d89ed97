"""The PagerDuty provider against a respx fake of the Events API v2: a failure triggers, the
next success resolves the same dedup key, a start is a change event; refusals and checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from app.integrations.errors import IntegrationError
from app.integrations.notifications import Notifier
from app.integrations.notifications.pagerduty import (
    PROVIDER,
    PagerDutyConfig,
    PagerDutyConnector,
)
from steps.integrations import Notice
from tests.support.connectors import connect

EVENTS = "https://events.pagerduty.test"
ROUTING_KEY = "R0UT1NGK3Y0123456789abcdefABCDEF"
DEDUP = "shipyard/github/acme/web/production"
ACCEPTED = {"status": "success", "message": "Event processed", "dedup_key": DEDUP}

FAILED = Notice(
    title="web: production ✗ v1.2.3",
    text="Deploying v1.2.3 to production failed: health check",
    status="failed",
    url="https://shipyard.example/deployments/7",
    fields={"Repository": "acme/web", "Release": "v1.2.3"},
    dedup_key=DEDUP,
)
SUCCEEDED = Notice(
    title="web: production ✓ v1.2.4",
    text="v1.2.4 is live in production.",
    status="succeeded",
    url="https://shipyard.example/deployments/8",
    dedup_key=DEDUP,
)


@pytest.fixture
def pagerduty() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def connector(http: httpx.AsyncClient, **config: Any) -> PagerDutyConnector:
    made = connect(
        PROVIDER,
        http,
        {"api_url": EVENTS, **config},
        name="pager",
        credential_ref="env://PD_ROUTING_KEY",
        values={"env://PD_ROUTING_KEY": ROUTING_KEY},
    )
    assert isinstance(made, PagerDutyConnector)
    assert isinstance(made, Notifier)
    return made


async def test_a_failure_triggers_and_the_next_success_resolves_it(
    http: httpx.AsyncClient, pagerduty: respx.MockRouter
) -> None:
    route = pagerduty.post(f"{EVENTS}/v2/enqueue").mock(
        return_value=httpx.Response(202, json=ACCEPTED)
    )
    made = connector(http)

    triggered = await made.send(FAILED)
    resolved = await made.send(SUCCEEDED)

    trigger, resolve = (call.request for call in route.calls)
    for request in (trigger, resolve):
        assert request.method == "POST"
        assert str(request.url) == f"{EVENTS}/v2/enqueue"
        assert request.headers["content-type"] == "application/json"
    assert json.loads(trigger.content) == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": DEDUP,
        "payload": {
            "summary": "web: production ✗ v1.2.3",
            "source": "shipyard",
            "severity": "error",
            "custom_details": {
                "status": "failed",
                "text": "Deploying v1.2.3 to production failed: health check",
                "Repository": "acme/web",
                "Release": "v1.2.3",
            },
        },
        "links": [{"href": "https://shipyard.example/deployments/7", "text": "Shipyard"}],
        "client": "Shipyard",
        "client_url": "https://shipyard.example/deployments/7",
    }
    assert json.loads(resolve.content) == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": DEDUP,
    }
    assert triggered.id == resolved.id == DEDUP


async def test_a_rollback_triggers_at_the_configured_severity(
    http: httpx.AsyncClient, pagerduty: respx.MockRouter
) -> None:
    route = pagerduty.post(f"{EVENTS}/v2/enqueue").mock(
        return_value=httpx.Response(202, json=ACCEPTED)
    )
    notice = Notice(title="t", text="", status="rolled_back", dedup_key=DEDUP)

    await connector(http, severity="critical", source="acme/web").send(notice)

    body = json.loads(route.calls.last.request.content)
    assert body["event_action"] == "trigger"
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["source"] == "acme/web"
    assert body["links"] == []
    assert "client_url" not in body


async def test_a_start_is_a_change_event_that_pages_nobody(
    http: httpx.AsyncClient, pagerduty: respx.MockRouter
) -> None:
    change = pagerduty.post(f"{EVENTS}/v2/change/enqueue").mock(
        return_value=httpx.Response(
            202, json={"status": "success", "message": "Change event processed"}
        )
    )
    notice = Notice(
        title="web: production → v1.2.4",
        text="Deploying v1.2.4 to production.",
        status="started",
        url="https://shipyard.example/deployments/8",
        dedup_key=DEDUP,
    )

    sent = await connector(http).send(notice)

    assert json.loads(change.calls.last.request.content) == {
        "routing_key": ROUTING_KEY,
        "payload": {
            "summary": "web: production → v1.2.4",
            "source": "shipyard",
            "custom_details": {"status": "started", "text": "Deploying v1.2.4 to production."},
        },
        "links": [{"href": "https://shipyard.example/deployments/8", "text": "Shipyard"}],
    }
    assert sent.id is None
    assert len(pagerduty.calls) == 1


async def test_a_success_without_a_dedup_key_sends_nothing(
    http: httpx.AsyncClient, pagerduty: respx.MockRouter
) -> None:
    sent = await connector(http).send(Notice(title="ok", text="", status="succeeded"))

    assert sent.id is None
    assert len(pagerduty.calls) == 0


@pytest.mark.parametrize(
    ("errors", "code"),
    [
        (["Invalid routing key"], "AUTHENTICATION_FAILED"),
        (["'payload.summary' is missing"], "PROVIDER_ERROR"),
    ],
)
async def test_a_refused_event_says_why(
    http: httpx.AsyncClient, pagerduty: respx.MockRouter, errors: list[str], code: str
) -> None:
    pagerduty.post(f"{EVENTS}/v2/enqueue").mock(
        return_value=httpx.Response(
            400,
            json={
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            },
        )
    )

    with pytest.raises(IntegrationError) as caught:
        await connector(http).send(FAILED)

    assert caught.value.code == code
    assert errors[0] in str(caught.value)
    assert ROUTING_KEY not in str(caught.value)


async def test_a_rate_limit_is_rate_limited(
    http: httpx.AsyncClient, pagerduty: respx.MockRouter
) -> None:
    pagerduty.post(f"{EVENTS}/v2/enqueue").mock(return_value=httpx.Response(429))

    with pytest.raises(IntegrationError) as caught:
        await connector(http).send(FAILED)

    assert caught.value.code == "RATE_LIMITED"


async def test_checks_send_no_event(http: httpx.AsyncClient, pagerduty: respx.MockRouter) -> None:
    pagerduty.get(f"{EVENTS}/").mock(return_value=httpx.Response(404))
    made = connector(http)

    assert await made.check("connectivity") == "PagerDuty's Events API answered (HTTP 404)"
    assert await made.check("authentication") == (
        "routing key set; the Events API offers no check without sending an event"
    )
    assert not any(call.request.method == "POST" for call in pagerduty.calls)


def test_the_default_endpoint_is_pagerdutys() -> None:
    assert PagerDutyConfig().api_url == "https://events.pagerduty.com"
    assert (PROVIDER.name, PROVIDER.type) == ("pagerduty", "notification")


async def test_an_endpoint_says_where_the_events_api_is(
    http: httpx.AsyncClient, pagerduty: respx.MockRouter
) -> None:
    route = pagerduty.post("https://pd.proxy.test/v2/enqueue").mock(
        return_value=httpx.Response(202, json=ACCEPTED)
    )

    await connector(http, endpoint="https://pd.proxy.test/").send(FAILED)

    assert route.call_count == 1
