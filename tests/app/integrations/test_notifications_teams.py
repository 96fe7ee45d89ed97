"""The Teams provider against a respx fake of an incoming webhook: the Adaptive Card in the
message envelope Teams documents, a connector's 200 that did not deliver, and the checks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import respx
from pydantic import ValidationError

from app.integrations.errors import IntegrationError
from app.integrations.notifications import Notifier
from app.integrations.notifications.teams import PROVIDER, TeamsConfig, TeamsConnector
from steps.integrations import Notice
from tests.support.connectors import connect

WEBHOOK = "https://acme.webhook.office.com/webhookb2/1234@5678/IncomingWebhook/aBcSeCrEt/9abc"


@pytest.fixture
def teams() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def connector(http: httpx.AsyncClient) -> TeamsConnector:
    made = connect(
        PROVIDER,
        http,
        {"webhook_url": "env://TEAMS_WEBHOOK"},
        name="team-chat",
        values={"env://TEAMS_WEBHOOK": WEBHOOK},
    )
    assert isinstance(made, TeamsConnector)
    assert isinstance(made, Notifier)
    return made


async def test_the_notice_is_an_adaptive_card_in_a_message_envelope(
    http: httpx.AsyncClient, teams: respx.MockRouter
) -> None:
    route = teams.post(WEBHOOK).mock(return_value=httpx.Response(202))
    notice = Notice(
        title="web: production ✓ v1.2.3",
        text="v1.2.3 is live in production.",
        status="succeeded",
        url="https://shipyard.example/deployments/7",
        fields={"Repository": "acme/web", "Release": "v1.2.3"},
    )

    sent = await connector(http).send(notice)

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == WEBHOOK
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "web: production ✓ v1.2.3",
                            "size": "Medium",
                            "weight": "Bolder",
                            "wrap": True,
                            "color": "Good",
                        },
                        {
                            "type": "TextBlock",
                            "text": "v1.2.3 is live in production.",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Repository", "value": "acme/web"},
                                {"title": "Release", "value": "v1.2.3"},
                            ],
                        },
                    ],
                    "actions": [
                        {
                            "type": "Action.OpenUrl",
                            "title": "Open",
                            "url": "https://shipyard.example/deployments/7",
                        }
                    ],
                },
            }
        ],
    }
    assert (sent.integration, sent.id) == ("team-chat", None)


async def test_a_failure_is_an_attention_card_without_text_facts_or_link(
    http: httpx.AsyncClient, teams: respx.MockRouter
) -> None:
    route = teams.post(WEBHOOK).mock(return_value=httpx.Response(200, text="1"))

    await connector(http).send(Notice(title="web: production ✗ v2", text="", status="failed"))

    card = json.loads(route.calls.last.request.content)["attachments"][0]["content"]
    assert card["body"] == [
        {
            "type": "TextBlock",
            "text": "web: production ✗ v2",
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
            "color": "Attention",
        }
    ]
    assert "actions" not in card


async def test_a_connector_that_did_not_deliver_is_an_error(
    http: httpx.AsyncClient, teams: respx.MockRouter
) -> None:
    teams.post(WEBHOOK).mock(
        return_value=httpx.Response(
            200,
            text="Webhook message delivery failed with error: Microsoft Teams endpoint "
            "returned HTTP error 429",
        )
    )

    with pytest.raises(IntegrationError) as caught:
        await connector(http).send(Notice(title="t", text=""))

    assert caught.value.code == "PROVIDER_ERROR"


@pytest.mark.parametrize(("status", "code"), [(400, "PROVIDER_ERROR"), (404, "RESOURCE_NOT_FOUND")])
async def test_an_error_status_names_no_url(
    http: httpx.AsyncClient, teams: respx.MockRouter, status: int, code: str
) -> None:
    teams.post(WEBHOOK).mock(return_value=httpx.Response(status, text=f"bad hook {WEBHOOK}"))

    with pytest.raises(IntegrationError) as caught:
        await connector(http).send(Notice(title="t", text=""))

    assert caught.value.code == code
    assert "aBcSeCrEt" not in str(caught.value)


async def test_checks_post_nothing(http: httpx.AsyncClient, teams: respx.MockRouter) -> None:
    origin = teams.get("https://acme.webhook.office.com/").mock(return_value=httpx.Response(200))
    made = connector(http)

    assert await made.check("connectivity") == "the Teams webhook's host answered (HTTP 200)"
    assert await made.check("functionality") == (
        "webhook URL set; Teams offers no check without posting"
    )
    assert origin.call_count == 1
    assert len(teams.calls) == 1


def test_the_webhook_url_is_a_reference() -> None:
    with pytest.raises(ValidationError) as caught:
        TeamsConfig.model_validate({"webhook_url": WEBHOOK})
    assert "aBcSeCrEt" not in str(caught.value)
    assert (PROVIDER.name, PROVIDER.type, PROVIDER.resource_types) == ("teams", "notification", ())
