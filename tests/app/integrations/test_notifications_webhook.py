"""The webhook provider against a respx fake: the notice as JSON, signed with the integration's
key over the exact body bytes (the `notify` step's scheme), headers from references, checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from app.integrations.errors import IntegrationError
from app.integrations.notifications import Notifier
from app.integrations.notifications.webhook import PROVIDER, WebhookConfig, WebhookConnector
from steps.integrations import Notice
from tests.support.connectors import connect

URL = "https://hooks.acme.example/shipyard"
SECRET_URL = "https://hooks.acme.example/t/0123456789abcdef"
KEY = "whsec-integration-key"
API_KEY = "api-key-for-the-receiver"
REFS = {"env://HOOK_KEY": KEY, "env://HOOK_URL": SECRET_URL, "env://RECEIVER_KEY": API_KEY}

NOTICE = Notice(
    title="web: staging ✓ v2.0.0",
    text="v2.0.0 is live in staging.",
    status="succeeded",
    url="https://shipyard.example/deployments/9",
    fields={"Repository": "acme/web"},
    dedup_key="shipyard/github/acme/web/staging",
)


@pytest.fixture
def receiver() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def connector(http: httpx.AsyncClient, *, key: bool = True, **config: Any) -> WebhookConnector:
    made = connect(
        PROVIDER,
        http,
        {"url": URL, **config},
        name="deploy-hook",
        credential_ref="env://HOOK_KEY" if key else None,
        values=REFS,
    )
    assert isinstance(made, WebhookConnector)
    assert isinstance(made, Notifier)
    return made


async def test_the_notice_is_signed_over_the_exact_body_bytes(
    http: httpx.AsyncClient, receiver: respx.MockRouter
) -> None:
    route = receiver.post(URL).mock(return_value=httpx.Response(204))

    sent = await connector(http, headers={"X-Api-Key": "env://RECEIVER_KEY"}).send(NOTICE)

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == URL
    expected = {
        "event": "notice",
        "status": "succeeded",
        "title": "web: staging ✓ v2.0.0",
        "text": "v2.0.0 is live in staging.",
        "url": "https://shipyard.example/deployments/9",
        "fields": {"Repository": "acme/web"},
        "dedup_key": "shipyard/github/acme/web/staging",
    }
    assert (
        request.content == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
    )
    digest = hmac.new(KEY.encode(), request.content, hashlib.sha256).hexdigest()
    assert request.headers["x-shipyard-signature-256"] == f"sha256={digest}"
    assert request.headers["x-shipyard-event"] == "notice"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "shipyard"
    assert request.headers["x-api-key"] == API_KEY
    delivery = request.headers["x-shipyard-delivery"]
    assert uuid.UUID(delivery).version == 4
    assert sent.id == delivery


async def test_without_a_key_it_is_not_signed_and_a_secret_url_is_resolved(
    http: httpx.AsyncClient, receiver: respx.MockRouter
) -> None:
    route = receiver.post(SECRET_URL).mock(return_value=httpx.Response(200))

    await connector(http, key=False, url="env://HOOK_URL").send(NOTICE)

    assert "x-shipyard-signature-256" not in route.calls.last.request.headers


async def test_an_error_names_neither_the_secret_url_nor_a_header_value(
    http: httpx.AsyncClient, receiver: respx.MockRouter
) -> None:
    receiver.post(SECRET_URL).mock(side_effect=httpx.ConnectError(f"refused: {SECRET_URL}"))

    with pytest.raises(IntegrationError) as caught:
        await connector(
            http, url="env://HOOK_URL", headers={"Authorization": "env://RECEIVER_KEY"}
        ).send(NOTICE)

    assert caught.value.code == "CONNECTION_REFUSED"
    assert "0123456789abcdef" not in str(caught.value)
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code"),
    [(401, "AUTHENTICATION_FAILED"), (429, "RATE_LIMITED"), (503, "PROVIDER_ERROR")],
)
async def test_error_statuses_are_mapped(
    http: httpx.AsyncClient, receiver: respx.MockRouter, status: int, code: str
) -> None:
    receiver.post(URL).mock(return_value=httpx.Response(status))

    with pytest.raises(IntegrationError) as caught:
        await connector(http).send(NOTICE)

    assert caught.value.code == code


async def test_checks_deliver_nothing(http: httpx.AsyncClient, receiver: respx.MockRouter) -> None:
    receiver.get("https://hooks.acme.example/").mock(return_value=httpx.Response(404))
    made = connector(http)

    assert await made.check("connectivity") == "the webhook's host answered (HTTP 404)"
    assert await made.check("authentication") == "deliveries are signed"
    assert await connector(http, key=False).check("authentication") == (
        "no key: deliveries are not signed"
    )
    assert not any(call.request.method == "POST" for call in receiver.calls)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"url": "ftp://hooks.acme.example"}, "http:// or https://"),
        ({"url": URL, "headers": {"Authorization": f"Bearer {API_KEY}"}}, "never the value"),
        ({"url": URL, "headers": {"X-Shipyard-Signature-256": "env://X"}}, "Shipyard's own"),
        ({"url": "secret://HOOK"}, "url"),
    ],
)
def test_config_is_checked(config: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookConfig.model_validate(config)
    assert expected in str(caught.value)
    assert API_KEY not in str(caught.value)


async def test_an_endpoint_can_be_the_url(
    http: httpx.AsyncClient, receiver: respx.MockRouter
) -> None:
    route = receiver.post(URL).mock(return_value=httpx.Response(200))

    await connector(http, url=None, endpoint=URL).send(NOTICE)

    assert route.call_count == 1
    with pytest.raises(ValidationError, match="give the url"):
        WebhookConfig.model_validate({})


@pytest.mark.parametrize(
    "bad",
    ["ftp://hooks.acme.example/t/s3cr3t-path", "https://hooks.acme.example:99999/s3cr3t-path"],
)
async def test_a_resolved_url_that_is_no_url_is_not_repeated(
    http: httpx.AsyncClient, receiver: respx.MockRouter, bad: str
) -> None:
    REFS["env://BAD_URL"] = bad
    try:
        with pytest.raises(IntegrationError) as caught:
            await connector(http, url="env://BAD_URL").send(NOTICE)
    finally:
        del REFS["env://BAD_URL"]

    assert caught.value.code == "INVALID_CONFIG"
    assert str(caught.value) == "INVALID_CONFIG: env://BAD_URL does not hold an http(s) URL"
    assert "s3cr3t-path" not in str(caught.value)
    assert not receiver.calls
