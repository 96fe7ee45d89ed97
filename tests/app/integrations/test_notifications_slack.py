"""The Slack provider against respx fakes of Slack's documented shapes: the incoming webhook,
`chat.postMessage` in a thread, `conversations.list` page by page, `{"ok": false}` errors and
rate limits, the checks — and never a token or webhook URL in an error."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from app.integrations.errors import IntegrationError
from app.integrations.notifications import Notifier
from app.integrations.notifications.slack import PROVIDER, SlackConfig, SlackConnector
from steps.integrations import Notice
from tests.support.connectors import connect

API = "https://slack.test/api"
WEBHOOK = "https://hooks.slack.com/services/T0001/B0001/wEbHoOkSeCrEt"
TOKEN = "xoxb-1234-5678-bOtToKeNsEcReT"
REFS = {"env://SLACK_WEBHOOK": WEBHOOK, "env://SLACK_BOT_TOKEN": TOKEN}

NOTICE = Notice(
    title="web: production ✗ v1.2.3",
    text="Deploying v1.2.3 to production failed: <!channel> health check & more",
    status="failed",
    url="https://shipyard.example/deployments/7",
    fields={"Repository": "acme/web", "Release": "v1.2.3"},
    dedup_key="shipyard/github/acme/web/production",
)
TEXT = (
    "web: production ✗ v1.2.3\n"
    "Deploying v1.2.3 to production failed: &lt;!channel&gt; health check &amp; more\n"
    "https://shipyard.example/deployments/7"
)
BLOCKS = [
    {
        "type": "header",
        "text": {"type": "plain_text", "text": "❌ web: production ✗ v1.2.3", "emoji": True},
    },
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "Deploying v1.2.3 to production failed: &lt;!channel&gt; health check "
            "&amp; more",
        },
    },
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Repository*\nacme/web"},
            {"type": "mrkdwn", "text": "*Release*\nv1.2.3"},
        ],
    },
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open"},
                "url": "https://shipyard.example/deployments/7",
            }
        ],
    },
]


@pytest.fixture
def slack() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def connector(http: httpx.AsyncClient, *, token: bool = True, **config: Any) -> SlackConnector:
    made = connect(
        PROVIDER,
        http,
        {"api_url": API, **config},
        name="team-slack",
        credential_ref="env://SLACK_BOT_TOKEN" if token else None,
        values=REFS,
    )
    assert isinstance(made, SlackConnector)
    assert isinstance(made, Notifier)
    return made


def assert_secret_free(*texts: object) -> None:
    for text in texts:
        assert TOKEN not in str(text)
        assert WEBHOOK not in str(text)
        assert "wEbHoOkSeCrEt" not in str(text)


async def test_a_webhook_gets_blocks_and_a_fallback_text(
    http: httpx.AsyncClient, slack: respx.MockRouter
) -> None:
    route = slack.post(WEBHOOK).mock(return_value=httpx.Response(200, text="ok"))

    sent = await connector(http, token=False, webhook_url="env://SLACK_WEBHOOK").send(NOTICE)

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == WEBHOOK
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "shipyard"
    assert "authorization" not in request.headers
    assert json.loads(request.content) == {"text": TEXT, "blocks": BLOCKS}
    assert (sent.integration, sent.id) == ("team-slack", None)


async def test_a_bot_posts_in_a_thread_and_the_ts_is_the_notices_id(
    http: httpx.AsyncClient, slack: respx.MockRouter
) -> None:
    route = slack.post(f"{API}/chat.postMessage").mock(
        return_value=httpx.Response(
            200,
            json={"ok": True, "channel": "C0DEPLOYS", "ts": "1712345678.000200", "message": {}},
        )
    )
    notice = dataclasses.replace(NOTICE, thread="1712345000.000100")

    sent = await connector(http, channel="#deploys", webhook_url="env://SLACK_WEBHOOK").send(notice)

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == f"{API}/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request.content) == {
        "channel": "#deploys",
        "text": TEXT,
        "blocks": BLOCKS,
        "unfurl_links": False,
        "thread_ts": "1712345000.000100",
    }
    assert sent.id == "1712345678.000200"
    assert [str(call.request.url) for call in slack.calls] == [f"{API}/chat.postMessage"]


async def test_a_notices_channel_overrides_the_default(
    http: httpx.AsyncClient, slack: respx.MockRouter
) -> None:
    route = slack.post(f"{API}/chat.postMessage").mock(
        return_value=httpx.Response(200, json={"ok": True, "ts": "1.2"})
    )

    await connector(http, channel="#deploys").send(Notice(title="hi", text="", channel="C0OTHER"))

    body = json.loads(route.calls.last.request.content)
    assert body["channel"] == "C0OTHER"
    assert "thread_ts" not in body


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("invalid_auth", "AUTHENTICATION_FAILED"),
        ("not_authed", "AUTHENTICATION_FAILED"),
        ("token_revoked", "AUTHENTICATION_FAILED"),
        ("channel_not_found", "RESOURCE_NOT_FOUND"),
        ("not_in_channel", "PERMISSION_DENIED"),
        ("fatal_error", "PROVIDER_ERROR"),
    ],
)
async def test_ok_false_errors_are_mapped(
    http: httpx.AsyncClient, slack: respx.MockRouter, error: str, code: str
) -> None:
    slack.post(f"{API}/chat.postMessage").mock(
        return_value=httpx.Response(200, json={"ok": False, "error": error})
    )

    with pytest.raises(IntegrationError) as caught:
        await connector(http, channel="#deploys").send(NOTICE)

    assert caught.value.code == code
    assert f"Slack said {error}" in str(caught.value)
    assert_secret_free(caught.value)


async def test_a_rate_limit_says_when_to_try_again(
    http: httpx.AsyncClient, slack: respx.MockRouter
) -> None:
    slack.post(f"{API}/chat.postMessage").mock(
        return_value=httpx.Response(
            429, headers={"Retry-After": "30"}, json={"ok": False, "error": "ratelimited"}
        )
    )

    with pytest.raises(IntegrationError) as caught:
        await connector(http, channel="#deploys").send(NOTICE)

    assert caught.value.code == "RATE_LIMITED"
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize(
    ("status", "word", "code"),
    [
        (404, "no_service", "AUTHENTICATION_FAILED"),
        (403, "invalid_token", "AUTHENTICATION_FAILED"),
        (404, "channel_not_found", "RESOURCE_NOT_FOUND"),
        (410, "channel_is_archived", "RESOURCE_NOT_FOUND"),
        (400, "invalid_payload", "PROVIDER_ERROR"),
        (500, "rollup_error", "PROVIDER_ERROR"),
        (404, f"no such hook {WEBHOOK}", "RESOURCE_NOT_FOUND"),
    ],
)
async def test_webhook_errors_are_mapped_without_the_url(
    http: httpx.AsyncClient, slack: respx.MockRouter, status: int, word: str, code: str
) -> None:
    slack.post(WEBHOOK).mock(return_value=httpx.Response(status, text=word))

    with pytest.raises(IntegrationError) as caught:
        await connector(http, token=False, webhook_url="env://SLACK_WEBHOOK").send(NOTICE)

    assert caught.value.code == code
    assert_secret_free(caught.value)


async def test_a_webhook_that_cannot_be_reached_names_no_url(
    http: httpx.AsyncClient, slack: respx.MockRouter
) -> None:
    slack.post(WEBHOOK).mock(side_effect=httpx.ConnectError(f"cannot connect to {WEBHOOK}"))

    with pytest.raises(IntegrationError) as caught:
        await connector(http, token=False, webhook_url="env://SLACK_WEBHOOK").send(NOTICE)

    assert caught.value.code == "CONNECTION_REFUSED"
    assert_secret_free(caught.value)


async def test_channels_are_discovered_page_by_page(
    http: httpx.AsyncClient, slack: respx.MockRouter
) -> None:
    pages = [
        {
            "ok": True,
            "channels": [
                {"id": "C01", "name": "deploys", "is_private": False, "num_members": 12},
                {"id": "C02", "name": "ops", "is_private": True, "num_members": 4},
            ],
            "response_metadata": {"next_cursor": "dGVhbTpDMDI="},
        },
        {
            "ok": True,
            "channels": [{"id": "C03", "name": "random", "is_private": False, "num_members": 40}],
            "response_metadata": {"next_cursor": ""},
        },
    ]
    route = slack.get(f"{API}/conversations.list").mock(
        side_effect=[httpx.Response(200, json=page) for page in pages]
    )

    found = await connector(http, channel="#deploys").discover("channels", {})

    assert [(r.type, r.name, r.id, dict(r.details)) for r in found] == [
        ("channels", "deploys", "C01", {"private": False, "members": 12}),
        ("channels", "ops", "C02", {"private": True, "members": 4}),
        ("channels", "random", "C03", {"private": False, "members": 40}),
    ]
    first, second = (call.request for call in route.calls)
    for request in (first, second):
        assert request.method == "GET"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert dict(first.url.params) == {
        "limit": "200",
        "types": "public_channel,private_channel",
        "exclude_archived": "true",
    }
    assert dict(second.url.params) == {**dict(first.url.params), "cursor": "dGVhbTpDMDI="}


async def test_discovery_needs_the_bot_token(http: httpx.AsyncClient) -> None:
    made = connector(http, token=False, webhook_url="env://SLACK_WEBHOOK")

    with pytest.raises(IntegrationError) as caught:
        await made.discover("channels", {})
    assert caught.value.code == "INVALID_CONFIG"
    with pytest.raises(IntegrationError) as unsupported:
        await made.discover("repositories", {})
    assert unsupported.value.code == "UNSUPPORTED"


async def test_checks_with_a_bot_token(http: httpx.AsyncClient, slack: respx.MockRouter) -> None:
    api_test = slack.post(f"{API}/api.test").mock(
        return_value=httpx.Response(200, json={"ok": True})
    )
    auth_test = slack.post(f"{API}/auth.test").mock(
        return_value=httpx.Response(
            200,
            json={
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "shipyard",
                "team_id": "T0001",
                "user_id": "U0001",
            },
        )
    )
    listing = slack.get(f"{API}/conversations.list").mock(
        return_value=httpx.Response(200, json={"ok": True, "channels": []})
    )
    made = connector(http, channel="#deploys")

    assert await made.check("connectivity") == "Slack's API answered"
    assert await made.check("authentication") == "signed in as shipyard to Acme"
    assert await made.check("functionality") == "lists channels"

    assert "authorization" not in api_test.calls.last.request.headers
    assert auth_test.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert listing.calls.last.request.url.params["limit"] == "1"


async def test_an_invalid_token_fails_the_authentication_check(
    http: httpx.AsyncClient, slack: respx.MockRouter
) -> None:
    slack.post(f"{API}/auth.test").mock(
        return_value=httpx.Response(200, json={"ok": False, "error": "invalid_auth"})
    )

    with pytest.raises(IntegrationError) as caught:
        await connector(http, channel="#deploys").check("authentication")

    assert caught.value.code == "AUTHENTICATION_FAILED"
    assert str(caught.value) == "AUTHENTICATION_FAILED: auth.test: Slack said invalid_auth"


async def test_checks_of_a_webhook_alone_post_nothing(
    http: httpx.AsyncClient, slack: respx.MockRouter
) -> None:
    host = slack.get("https://hooks.slack.com/").mock(return_value=httpx.Response(404))
    made = connector(http, token=False, webhook_url="env://SLACK_WEBHOOK")

    assert await made.check("connectivity") == "the Slack webhook's host answered (HTTP 404)"
    assert await made.check("authentication") == (
        "webhook URL set; Slack offers no check without posting"
    )
    assert host.call_count == 1
    assert not any(call.request.method == "POST" for call in slack.calls)


def test_a_literal_webhook_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as caught:
        SlackConfig.model_validate({"webhook_url": WEBHOOK})
    assert "never the value" in str(caught.value)
    assert_secret_free(caught.value)


def test_a_config_needs_a_webhook_or_a_channel() -> None:
    with pytest.raises(ValidationError, match="give webhook_url"):
        SlackConfig.model_validate({})


def test_the_provider_discovers_channels() -> None:
    assert (PROVIDER.name, PROVIDER.type, PROVIDER.resource_types) == (
        "slack",
        "notification",
        ("channels",),
    )
    assert SlackConfig.model_validate({"channel": "#d"}).api_url == "https://slack.com/api"
