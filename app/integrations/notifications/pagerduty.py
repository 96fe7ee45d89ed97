"""PagerDuty, through the Events API v2: `POST {api_url}/v2/enqueue` with the integration's
credential as the `routing_key` (an Events API v2 integration key of a service). Config:
`api_url` (https://events.pagerduty.com; `endpoint` says the same), `severity` of a failure's
incident (error), `source` (shipyard).

- failed / rolled_back → `trigger` (`payload{summary, source, severity, custom_details}`,
  `links`), with the notice's dedup key, so repeats fold into one incident;
- succeeded → `resolve` of that dedup key (nothing is sent without one: there is nothing to
  resolve);
- started / info → a change event (`POST {api_url}/v2/change/enqueue`): on the service's
  timeline, never paging anyone.
PagerDuty answers 202 `{"status": "success", "dedup_key": …}`; 400 with `errors` for an event
it refuses; 429 when rate limited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.notifications.base import (
    answer_of,
    check_http_url,
    no_discovery,
    post_json,
    raise_for_status,
    reach,
)
from app.integrations.spec import ProviderSpec
from steps.integrations import Notice, NoticeSent

__all__ = ["PROVIDER", "PagerDutyConfig", "PagerDutyConnector", "event"]

Severity = Literal["critical", "error", "warning", "info"]
_CLIENT = "Shipyard"


class PagerDutyConfig(ProviderConfig):
    api_url: str = "https://events.pagerduty.com"
    severity: Severity = "error"  # of a failure's incident
    source: str = Field("shipyard", min_length=1, max_length=255)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return check_http_url(value, "api_url")


def _details(notice: Notice) -> dict[str, Any]:
    return {"status": notice.status, "text": notice.text, **dict(notice.fields)}


def _links(notice: Notice) -> list[dict[str, str]]:
    return [{"href": notice.url, "text": "Shipyard"}] if notice.url else []


def event(notice: Notice, key: str, config: PagerDutyConfig) -> tuple[str, dict[str, Any]] | None:
    """The path and body PagerDuty is sent for `notice` (None: nothing to send)."""
    if notice.status in ("started", "info"):
        return "/v2/change/enqueue", {
            "routing_key": key,
            "payload": {
                "summary": notice.title[:1024],
                "source": config.source,
                "custom_details": _details(notice),
            },
            "links": _links(notice),
        }
    if notice.status == "succeeded":
        if not notice.dedup_key:
            return None
        return "/v2/enqueue", {
            "routing_key": key,
            "event_action": "resolve",
            "dedup_key": notice.dedup_key,
        }
    body: dict[str, Any] = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {
            "summary": notice.title[:1024],
            "source": config.source,
            "severity": config.severity,
            "custom_details": _details(notice),
        },
        "links": _links(notice),
        "client": _CLIENT,
    }
    if notice.url:
        body["client_url"] = notice.url
    if notice.dedup_key:
        body["dedup_key"] = notice.dedup_key[:255]
    return "/v2/enqueue", body


class PagerDutyConnector:
    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        config = ctx.config
        assert isinstance(config, PagerDutyConfig)
        self.config = config
        self.api_url = config.endpoint or config.api_url

    async def _key(self) -> str:
        return await self.ctx.require_credential("an Events API v2 integration key")

    async def send(self, notice: Notice) -> NoticeSent:
        key = await self._key()
        made = event(notice, key, self.config)
        if made is None:
            return NoticeSent(self.ctx.name)
        path, body = made
        response = await post_json(
            self.ctx,
            self.api_url + path,
            body,
            what="PagerDuty's Events API",
            secrets=[key],
            check_status=False,
        )
        if response.status_code == 400:
            raise self._refused(response, key)
        raise_for_status(response, "PagerDuty's Events API", [key])
        answer = answer_of(response)
        dedup = answer.get("dedup_key") or body.get("dedup_key")
        return NoticeSent(self.ctx.name, str(dedup) if dedup else None)

    def _refused(self, response: httpx.Response, key: str) -> IntegrationError:
        errors = [str(e) for e in answer_of(response).get("errors") or []]
        said = "; ".join(errors)[:300].replace(key, "***") or "the event is invalid"
        if any("routing_key" in e or "routing key" in e.lower() for e in errors):
            return IntegrationError(
                "AUTHENTICATION_FAILED", f"PagerDuty refused the routing key: {said}"
            )
        return IntegrationError("PROVIDER_ERROR", f"PagerDuty refused the event: {said}")

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            return await reach(self.ctx, self.api_url, what="PagerDuty's Events API")
        await self._key()
        return "routing key set; the Events API offers no check without sending an event"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        no_discovery("pagerduty", resource_type)


def connect(ctx: ConnectorContext) -> PagerDutyConnector:
    return PagerDutyConnector(ctx)


PROVIDER = ProviderSpec(
    name="pagerduty",
    type="notification",
    title="PagerDuty (Events API v2)",
    config=PagerDutyConfig,
    connect=connect,
)
