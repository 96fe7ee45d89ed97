"""A JSON webhook, signed as the `notify` step and the webhook executor sign: the notice as
JSON, with `X-Shipyard-Event: notice`, `X-Shipyard-Delivery` (a UUID, the notice's id) and,
when the integration has a credential (the HMAC key), `X-Shipyard-Signature-256:
sha256=<hex>` over the exact body bytes.

Config: `url` (an http(s) URL, or a reference when it carries a token; a plain URL may be
given as `endpoint`), `headers` (more headers, each value a reference: an `Authorization`, an
API key).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import field_validator, model_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource
from app.integrations.kinds import CheckLevel
from app.integrations.notifications.base import (
    check_url_or_reference,
    json_bytes,
    no_discovery,
    post_json,
    reach,
    resolve_url,
)
from app.integrations.spec import ProviderSpec
from steps.integrations import Notice, NoticeSent
from steps.notify import signature
from steps.secret_refs import is_reference

__all__ = ["EVENT", "PROVIDER", "WebhookConfig", "WebhookConnector", "payload"]

EVENT = "notice"
_OURS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "x-shipyard-event",
        "x-shipyard-delivery",
        "x-shipyard-signature-256",
    }
)


class WebhookConfig(ProviderConfig):
    references: ClassVar[frozenset[str]] = frozenset({"headers"})

    url: str | None = None
    headers: dict[str, str] = {}

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url_or_reference(value, "url")

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if self.url is None and self.endpoint is None:
            raise ValueError("give the url to deliver to (url, or --endpoint)")
        return self

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not name or not all(c.isalnum() or c in "-_" for c in name):
                raise ValueError(f"header {name!r} is not a header name")
            if name.lower() in _OURS:
                raise ValueError(f"header {name} is Shipyard's own")
        return value


def payload(notice: Notice) -> dict[str, Any]:
    """The body: the notice, field by field."""
    return {
        "event": EVENT,
        "status": notice.status,
        "title": notice.title,
        "text": notice.text,
        "url": notice.url,
        "fields": dict(notice.fields),
        "dedup_key": notice.dedup_key,
    }


class WebhookConnector:
    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        config = ctx.config
        assert isinstance(config, WebhookConfig)
        self.config = config

    async def _url(self) -> str:
        url = self.config.url or self.ctx.endpoint()
        return await resolve_url(self.ctx, url) if is_reference(url) else url

    async def _headers(self) -> dict[str, str]:
        return {name: await self.ctx.resolve(ref) for name, ref in self.config.headers.items()}

    async def send(self, notice: Notice) -> NoticeSent:
        url = await self._url()
        extra = await self._headers()
        key = await self.ctx.credential()
        delivery = str(uuid.uuid4())
        body = json_bytes(payload(notice))
        headers = {**extra, "X-Shipyard-Event": EVENT, "X-Shipyard-Delivery": delivery}
        if key is not None:
            headers["X-Shipyard-Signature-256"] = signature(key, body)
        await post_json(
            self.ctx, url, body, what="the webhook", headers=headers, secrets=extra.values()
        )
        return NoticeSent(self.ctx.name, delivery)

    async def check(self, level: CheckLevel) -> str:
        url = await self._url()
        if level == "connectivity":
            return await reach(self.ctx, url, what="the webhook's host")
        if level == "authentication":
            await self._headers()
            signed = await self.ctx.credential() is not None
            return "deliveries are signed" if signed else "no key: deliveries are not signed"
        return "a webhook offers no check without delivering"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        no_discovery("webhook", resource_type)


def connect(ctx: ConnectorContext) -> WebhookConnector:
    return WebhookConnector(ctx)


PROVIDER = ProviderSpec(
    name="webhook",
    type="notification",
    title="Webhook (HMAC-signed JSON)",
    config=WebhookConfig,
    connect=connect,
)
