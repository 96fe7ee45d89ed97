"""Opsgenie, through its Alerts API with the integration's credential as `GenieKey` (an API
integration's key). Config: `api_url` (https://api.opsgenie.com, or
https://api.eu.opsgenie.com for an EU account; `endpoint` says the same), `priority` of a
failure's alert (P3), `info_priority` (P5), `tags`.

- failed / rolled_back → `POST /v2/alerts` (`message`, `alias` = the notice's dedup key, so
  repeats fold into one alert, `description`, `details`, `priority`, `source`, `tags`);
- info → the same, at `info_priority`;
- succeeded → `POST /v2/alerts/{alias}/close?identifierType=alias` (nothing is sent without a
  dedup key: there is nothing to close);
- started → nothing: a deployment starting is not an alert.
Opsgenie answers 202 `{"result": "Request will be processed", "requestId": …}`; the alias (or
the request id) is the notice's id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import field_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource, http_error
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.notifications.base import (
    USER_AGENT,
    answer_of,
    check_http_url,
    no_discovery,
    post_json,
    reach,
)
from app.integrations.spec import ProviderSpec
from steps.integrations import Notice, NoticeSent

__all__ = ["PROVIDER", "OpsgenieConfig", "OpsgenieConnector", "alert", "alias_of"]

Priority = Literal["P1", "P2", "P3", "P4", "P5"]
SOURCE = "Shipyard"
_MAX_ALIAS = 512


class OpsgenieConfig(ProviderConfig):
    api_url: str = "https://api.opsgenie.com"
    priority: Priority = "P3"  # of a failure's alert
    info_priority: Priority = "P5"
    tags: list[str] = []

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return check_http_url(value, "api_url")


def alias_of(dedup_key: str) -> str:
    """The alert's alias: the dedup key, or (longer than Opsgenie keeps) its digest."""
    if len(dedup_key) <= _MAX_ALIAS:
        return dedup_key
    return "shipyard-" + hashlib.sha256(dedup_key.encode()).hexdigest()


def alert(notice: Notice, config: OpsgenieConfig) -> dict[str, Any]:
    """The body of the alert `notice` raises."""
    description = "\n\n".join(part for part in (notice.text, notice.url or "") if part)
    body: dict[str, Any] = {
        "message": notice.title[:130],
        "description": description[:15000],
        "details": {"status": notice.status, **dict(notice.fields)},
        "priority": config.info_priority if notice.status == "info" else config.priority,
        "source": SOURCE,
        "tags": ["shipyard", notice.status, *config.tags],
    }
    if notice.dedup_key:
        body["alias"] = alias_of(notice.dedup_key)
    return body


class OpsgenieConnector:
    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        config = ctx.config
        assert isinstance(config, OpsgenieConfig)
        self.config = config
        self.api_url = config.endpoint or config.api_url

    async def _auth(self) -> tuple[str, dict[str, str]]:
        key = await self.ctx.require_credential("an Opsgenie API integration key")
        return key, {"Authorization": f"GenieKey {key}"}

    async def send(self, notice: Notice) -> NoticeSent:
        if notice.status == "started":
            return NoticeSent(self.ctx.name)
        key, headers = await self._auth()
        if notice.status == "succeeded":
            if not notice.dedup_key:
                return NoticeSent(self.ctx.name)
            alias = alias_of(notice.dedup_key)
            url = f"{self.api_url}/v2/alerts/{quote(alias, safe='')}/close"
            body = {"source": SOURCE, "note": notice.title}
            await post_json(
                self.ctx,
                url + "?identifierType=alias",
                body,
                what="closing the Opsgenie alert",
                headers=headers,
                secrets=[key],
            )
            return NoticeSent(self.ctx.name, alias)
        made = alert(notice, self.config)
        response = await post_json(
            self.ctx,
            f"{self.api_url}/v2/alerts",
            made,
            what="creating the Opsgenie alert",
            headers=headers,
            secrets=[key],
        )
        answer = answer_of(response)
        sent = made.get("alias") or answer.get("requestId")
        return NoticeSent(self.ctx.name, str(sent) if sent else None)

    async def _count(self, query: str | None) -> int:
        _, headers = await self._auth()
        params = {"query": query} if query else {}
        try:
            response = await self.ctx.http.get(
                f"{self.api_url}/v2/alerts/count",
                params=params,
                headers={**headers, "User-Agent": USER_AGENT},
                timeout=self.config.timeout,
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise http_error(error, "counting Opsgenie alerts") from None
        count = (answer_of(response).get("data") or {}).get("count")
        if not isinstance(count, int):
            raise IntegrationError(
                "PROVIDER_ERROR", "counting Opsgenie alerts: no count in the answer"
            )
        return count

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            return await reach(self.ctx, self.api_url, what="Opsgenie's API")
        if level == "authentication":
            await self._count(None)
            return "the API key is accepted"
        return f"reads alerts ({await self._count('status: open')} open)"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        no_discovery("opsgenie", resource_type)


def connect(ctx: ConnectorContext) -> OpsgenieConnector:
    return OpsgenieConnector(ctx)


PROVIDER = ProviderSpec(
    name="opsgenie",
    type="notification",
    title="Opsgenie (Alerts API)",
    config=OpsgenieConfig,
    connect=connect,
)
