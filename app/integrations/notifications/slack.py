"""Slack: an incoming webhook, and/or `chat.postMessage` with a bot token (threads, channels).

- Config: `webhook_url` (a reference: the URL is the credential), `channel` (the default for
  the bot), `api_url` (https://slack.com/api; `endpoint` says the same). The integration's
  credential is the bot token (scopes chat:write, channels:read, groups:read). With a token
  and a channel, notices go through `chat.postMessage` (`thread_ts` answers in a thread; the
  answer's `ts` is the notice's id); else through the webhook.
- A message is Block Kit blocks (header, text, fields, a button to the URL) with `text` as
  the fallback notifications show. `&`, `<` and `>` are escaped: a release name cannot ping
  `<!channel>`.
- Slack's Web API answers 200 `{"ok": false, "error": …}` for its errors, and 429 with
  `Retry-After` when rate limited; a webhook answers 4xx with a short word (`no_service`,
  `channel_not_found`, …).
- Discovery: `channels` through `conversations.list`, page by page (its cursor).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn

import httpx
from pydantic import Field, field_validator, model_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource, http_error
from app.integrations.errors import Code, IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.notifications.base import (
    USER_AGENT,
    check_http_url,
    no_discovery,
    post_json,
    raise_for_status,
    reach,
    resolve_url,
)
from app.integrations.spec import ProviderSpec
from steps.integrations import Notice, NoticeSent

__all__ = ["PROVIDER", "SlackConfig", "SlackConnector", "blocks", "fallback_text"]

_PAGE = 200
_TYPES = "public_channel,private_channel"  # scopes channels:read and groups:read
_MAX_PAGES = 50
_WORD = re.compile(r"[a-z_]{1,60}")
_ERRORS: dict[str, Code] = {
    "invalid_auth": "AUTHENTICATION_FAILED",
    "not_authed": "AUTHENTICATION_FAILED",
    "token_revoked": "AUTHENTICATION_FAILED",
    "token_expired": "AUTHENTICATION_FAILED",
    "account_inactive": "AUTHENTICATION_FAILED",
    "invalid_token": "AUTHENTICATION_FAILED",
    "no_service": "AUTHENTICATION_FAILED",  # a webhook removed or disabled
    "ratelimited": "RATE_LIMITED",
    "channel_not_found": "RESOURCE_NOT_FOUND",
    "channel_is_archived": "RESOURCE_NOT_FOUND",
    "is_archived": "RESOURCE_NOT_FOUND",
    "not_in_channel": "PERMISSION_DENIED",
    "missing_scope": "PERMISSION_DENIED",
    "action_prohibited": "PERMISSION_DENIED",
    "restricted_action": "PERMISSION_DENIED",
}
_HINTS = {
    "not_in_channel": "; invite the app to the channel",
    "missing_scope": "; give the app the scope Slack names",
}
_MARKS = {"started": "🚀", "succeeded": "✅", "failed": "❌", "rolled_back": "↩️"}


class SlackConfig(ProviderConfig):
    references: ClassVar[frozenset[str]] = frozenset({"webhook_url"})

    webhook_url: str | None = None
    channel: str | None = Field(None, min_length=1, max_length=80)
    api_url: str = "https://slack.com/api"

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return check_http_url(value, "api_url")

    @model_validator(mode="after")
    def _some_way(self) -> SlackConfig:
        if self.webhook_url is None and self.channel is None:
            raise ValueError(
                "give webhook_url (an incoming webhook, as a reference) or channel (posted "
                "to with the bot token that is the integration's credential)"
            )
        return self


def escape(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally (its three control characters escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fallback_text(notice: Notice) -> str:
    """What notifications and clients without blocks show."""
    lines = [notice.title, notice.text, notice.url or ""]
    return escape("\n".join(line for line in lines if line))


def blocks(notice: Notice) -> list[dict[str, Any]]:
    """The notice as Block Kit blocks (within Slack's limits: header 150, text 3000, fields
    10 of 2000 characters)."""
    mark = _MARKS.get(notice.status)
    title = f"{mark} {notice.title}" if mark else notice.title
    made: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}}
    ]
    if notice.text:
        made.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": escape(notice.text)[:3000]}}
        )
    if notice.fields:
        made.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{escape(name)}*\n{escape(value)}"[:2000]}
                    for name, value in list(notice.fields.items())[:10]
                ],
            }
        )
    if notice.url:
        made.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open"},
                        "url": notice.url,
                    }
                ],
            }
        )
    return made


def _fail(word: str, what: str, response: httpx.Response | None = None) -> NoReturn:
    code = _ERRORS.get(word, "PROVIDER_ERROR")
    said = word if _WORD.fullmatch(word) else "an error"
    after = None
    if code == "RATE_LIMITED":
        try:
            after = float(response.headers.get("retry-after", "1") if response is not None else 1)
        except ValueError:
            after = 1.0
    raise IntegrationError(
        code, f"{what}: Slack said {said}{_HINTS.get(word, '')}", retry_after=after
    )


class SlackConnector:
    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        config = ctx.config
        assert isinstance(config, SlackConfig)
        self.config = config
        self.api_url = config.endpoint or config.api_url

    # --- the Web API ---------------------------------------------------------------------

    async def _token(self) -> str:
        return await self.ctx.require_credential("a Slack bot token, xoxb-…")

    async def _api(
        self,
        method: str,
        *,
        token: str | None,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call a Web API method (POST JSON, or GET with `query`); its answer when `ok`."""
        url = f"{self.api_url}/{method}"
        headers = {"User-Agent": USER_AGENT}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            if query is not None:
                response = await self.ctx.http.get(
                    url, params=dict(query), headers=headers, timeout=self.config.timeout
                )
            else:
                headers["Content-Type"] = "application/json; charset=utf-8"
                response = await self.ctx.http.post(
                    url, json=dict(body or {}), headers=headers, timeout=self.config.timeout
                )
            if response.status_code == 429:
                _fail("ratelimited", method, response)
            response.raise_for_status()
            answer = response.json()
        except httpx.HTTPError as error:
            raise http_error(error, method) from None
        except ValueError:
            raise IntegrationError("PROVIDER_ERROR", f"{method}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise IntegrationError("PROVIDER_ERROR", f"{method}: the answer is not an object")
        if not answer.get("ok"):
            _fail(str(answer.get("error") or "an unknown error"), method, response)
        return answer

    # --- sending -------------------------------------------------------------------------

    async def send(self, notice: Notice) -> NoticeSent:
        token = await self.ctx.credential()
        channel = notice.channel or self.config.channel
        if token is not None and channel is not None:
            return await self._post_message(notice, token, channel)
        if self.config.webhook_url is not None:
            return await self._post_webhook(notice)
        if token is None:
            raise IntegrationError(
                "INVALID_CONFIG", "posting to a channel needs a bot token as the credential"
            )
        raise IntegrationError("INVALID_CONFIG", "no channel to post to: set config channel")

    async def _post_message(self, notice: Notice, token: str, channel: str) -> NoticeSent:
        body: dict[str, Any] = {
            "channel": channel,
            "text": fallback_text(notice),
            "blocks": blocks(notice),
            "unfurl_links": False,
        }
        if notice.thread:
            body["thread_ts"] = notice.thread
        answer = await self._api("chat.postMessage", token=token, body=body)
        ts = answer.get("ts")
        return NoticeSent(self.ctx.name, str(ts) if ts is not None else None)

    async def _post_webhook(self, notice: Notice) -> NoticeSent:
        assert self.config.webhook_url is not None
        url = await resolve_url(self.ctx, self.config.webhook_url)
        body = {"text": fallback_text(notice), "blocks": blocks(notice)}
        response = await post_json(
            self.ctx, url, body, what="the Slack webhook", check_status=False
        )
        if not response.is_success:
            word = " ".join(response.text.split())[:60]
            if response.status_code != 429 and word in _ERRORS:
                _fail(word, "the Slack webhook", response)
            raise_for_status(response, "the Slack webhook", [url])
        return NoticeSent(self.ctx.name)

    # --- checks and discovery ------------------------------------------------------------

    async def check(self, level: CheckLevel) -> str:
        token = await self.ctx.credential()
        if token is None:
            assert self.config.webhook_url is not None  # the config's validator makes sure
            url = await resolve_url(self.ctx, self.config.webhook_url)
            if level == "connectivity":
                return await reach(self.ctx, url, what="the Slack webhook's host")
            return "webhook URL set; Slack offers no check without posting"
        if level == "connectivity":
            await self._api("api.test", token=None, body={})
            return "Slack's API answered"
        if level == "authentication":
            answer = await self._api("auth.test", token=token, body={})
            return f"signed in as {answer.get('user', '?')} to {answer.get('team', '?')}"
        await self._api("conversations.list", token=token, query={"limit": "1", "types": _TYPES})
        return "lists channels"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        if resource_type != "channels":
            no_discovery("slack", resource_type)
        token = await self._token()
        found: list[Resource] = []
        cursor = ""
        for _ in range(_MAX_PAGES):
            query = {
                "limit": str(_PAGE),
                "types": _TYPES,
                "exclude_archived": "true",
            }
            if cursor:
                query["cursor"] = cursor
            answer = await self._api("conversations.list", token=token, query=query)
            for channel in answer.get("channels") or []:
                found.append(
                    Resource(
                        type="channels",
                        name=str(channel.get("name", "")),
                        id=str(channel.get("id", "")) or None,
                        details={
                            "private": bool(channel.get("is_private", False)),
                            "members": channel.get("num_members"),
                        },
                    )
                )
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        return found


def connect(ctx: ConnectorContext) -> SlackConnector:
    return SlackConnector(ctx)


PROVIDER = ProviderSpec(
    name="slack",
    type="notification",
    title="Slack (incoming webhook or bot token)",
    config=SlackConfig,
    connect=connect,
    resource_types=("channels",),
)
