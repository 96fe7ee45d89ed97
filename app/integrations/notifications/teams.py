"""Microsoft Teams: an incoming webhook (a Workflows webhook or a legacy connector) posted an
Adaptive Card 1.4 in the message envelope Teams documents:

    {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
     "contentUrl": null, "content": {"type": "AdaptiveCard", "version": "1.4", …}}]}

Config: `webhook_url`, a reference (the URL is the credential). A Workflows webhook answers
202, a connector 200 `1`; a connector that could not deliver says so in a 200 whose text
begins "Webhook message delivery failed".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import model_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.notifications.base import no_discovery, post_json, reach, resolve_url
from app.integrations.spec import ProviderSpec
from steps.integrations import Notice, NoticeSent

__all__ = ["CARD_TYPE", "PROVIDER", "TeamsConfig", "TeamsConnector", "adaptive_card", "message"]

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
_COLOURS = {
    "succeeded": "Good",
    "failed": "Attention",
    "rolled_back": "Warning",
    "started": "Accent",
}


class TeamsConfig(ProviderConfig):
    references: ClassVar[frozenset[str]] = frozenset({"webhook_url"})

    webhook_url: str

    @model_validator(mode="after")
    def _no_endpoint(self) -> Self:
        if self.endpoint is not None:
            raise ValueError("teams posts to webhook_url (a reference), not to an endpoint")
        return self


def adaptive_card(notice: Notice) -> dict[str, Any]:
    """The notice as an Adaptive Card: its title, its text, its fields as facts, a link."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": notice.title,
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
            "color": _COLOURS.get(notice.status, "Default"),
        }
    ]
    if notice.text:
        body.append({"type": "TextBlock", "text": notice.text, "wrap": True})
    if notice.fields:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": name, "value": value} for name, value in notice.fields.items()],
            }
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if notice.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open", "url": notice.url}]
    return card


def message(notice: Notice) -> dict[str, Any]:
    """The envelope a Teams webhook takes: one attachment, the card."""
    return {
        "type": "message",
        "attachments": [
            {"contentType": CARD_TYPE, "contentUrl": None, "content": adaptive_card(notice)}
        ],
    }


class TeamsConnector:
    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        config = ctx.config
        assert isinstance(config, TeamsConfig)
        self.config = config

    async def send(self, notice: Notice) -> NoticeSent:
        url = await resolve_url(self.ctx, self.config.webhook_url)
        response = await post_json(self.ctx, url, message(notice), what="the Teams webhook")
        if response.text.lstrip().startswith("Webhook message delivery failed"):
            raise IntegrationError("PROVIDER_ERROR", "the Teams webhook: Teams did not deliver it")
        return NoticeSent(self.ctx.name)

    async def check(self, level: CheckLevel) -> str:
        url = await resolve_url(self.ctx, self.config.webhook_url)
        if level == "connectivity":
            return await reach(self.ctx, url, what="the Teams webhook's host")
        return "webhook URL set; Teams offers no check without posting"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        no_discovery("teams", resource_type)


def connect(ctx: ConnectorContext) -> TeamsConnector:
    return TeamsConnector(ctx)


PROVIDER = ProviderSpec(
    name="teams",
    type="notification",
    title="Microsoft Teams (incoming webhook)",
    config=TeamsConfig,
    connect=connect,
)
