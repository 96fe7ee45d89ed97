"""`notify`: tell people where a pipeline got — through a notification integration the server
registered, a Slack incoming webhook or a signed JSON webhook.

Integration: `integration: NAME` with `title`, `text`, `status`, `url`, `fields`, `dedup_key`
and `thread`, sent the way that integration's service says things (a Slack message, a Teams
card, an e-mail, a PagerDuty event, an Opsgenie alert). What the service answered (a Slack
`ts`: give it as a later step's `thread`) is the output `notice_id`.

Slack: POST `{"text": …}` as JSON to the incoming-webhook URL; Slack answers 200 `ok`, or
400/403/404/410/500 with a short error string (`invalid_payload`, `channel_not_found`, …).
The URL is itself the credential, so it is always a secret reference and never shown.

Webhook: POST a JSON body with `X-Shipyard-Event`, `X-Shipyard-Delivery` (a UUID, the same on
every attempt of the step) and, with a secret, `X-Shipyard-Signature-256: sha256=<hex>`, the
HMAC-SHA256 of the exact body bytes (GitHub's scheme, so receivers can reuse their checks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import httpx
from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from steps.base import StepConfig, StepContext, StepFailed
from steps.config_types import Duration
from steps.integrations import IntegrationFailed, Notice, NoticeStatus
from steps.secret_refs import SecretError, check_reference, is_reference

EVENT = "pipeline.notify"
USER_AGENT = "shipyard"
_DETAIL_CHARS = 200


def _reference(value: str) -> str:
    check_reference(value)  # SecretError is a ValueError: pydantic reports it
    return value


class SlackNotice(StepConfig):
    """A Slack incoming webhook; `webhook_url` is a secret reference, never the URL itself."""

    model_config = ConfigDict(hide_input_in_errors=True)

    webhook_url: str = "secret://SLACK_WEBHOOK_URL"
    text: str = Field(min_length=1)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_is_reference(cls, value: str) -> str:
        return _reference(value)


class WebhookNotice(StepConfig):
    """A JSON webhook. `url` is an http(s) URL, or a secret reference when the URL carries a
    token; `secret` is a reference to the HMAC key; `payload` replaces the default body."""

    model_config = ConfigDict(hide_input_in_errors=True)

    url: str
    secret: str | None = None
    payload: dict[str, Any] | None = None

    @field_validator("url")
    @classmethod
    def _http_or_reference(cls, value: str) -> str:
        if is_reference(value):
            return _reference(value)
        if not value.startswith(("https://", "http://")):
            raise ValueError("url must start with https:// or http://, or be secret://NAME")
        return value

    @field_validator("secret")
    @classmethod
    def _secret_is_reference(cls, value: str | None) -> str | None:
        return None if value is None else _reference(value)


def _scalar_text(value: object) -> object:
    """A field's number or boolean, as text (`build: 42`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


_NOTICE_KEYS = ("title", "text", "status", "url", "fields", "dedup_key", "thread")


class NotifyConfig(StepConfig):
    """Exactly one of `integration:`, `slack:` and `webhook:`; `timeout` bounds the HTTP
    request of the last two. An integration's notice is `title` (required), `text`, `status`,
    `url`, `fields`, `dedup_key` (ties a failure's alert to the success that resolves it) and
    `thread` (a Slack message's ts to answer under)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    integration: str | None = Field(None, min_length=1, max_length=100)
    title: str | None = Field(None, min_length=1, max_length=1000)
    text: str = ""
    status: NoticeStatus = "info"
    url: str | None = None
    fields: dict[str, Annotated[str, BeforeValidator(_scalar_text)]] = {}
    dedup_key: str | None = Field(None, min_length=1, max_length=255)
    thread: str | None = None
    slack: SlackNotice | None = None
    webhook: WebhookNotice | None = None
    timeout: Duration = 10.0

    @model_validator(mode="after")
    def _exactly_one(self) -> NotifyConfig:
        ways = [self.integration, self.slack, self.webhook]
        if sum(way is not None for way in ways) != 1:
            raise ValueError("notify needs exactly one of integration:, slack: and webhook:")
        if self.integration is None:
            given = [key for key in _NOTICE_KEYS if key in self.model_fields_set]
            if given:
                raise ValueError(f"{', '.join(given)}: only with integration:")
        elif self.title is None:
            raise ValueError("integration: needs a title:")
        return self

    def notice(self) -> Notice:
        assert self.title is not None
        return Notice(
            title=self.title,
            text=self.text,
            status=self.status,
            url=self.url,
            fields=dict(self.fields),
            dedup_key=self.dedup_key,
            thread=self.thread,
        )


class Notify:
    """Send one notification. A retry after a delivery that succeeded does not send again."""

    type_name: ClassVar[str] = "notify"
    Config: ClassVar[type[StepConfig]] = NotifyConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        if not isinstance(config, NotifyConfig):
            raise TypeError(f"notify needs a NotifyConfig, not {type(config).__name__}")
        if config.integration is not None:
            return await _through_integration(ctx, config.integration, config.notice())
        if "status_code" in ctx.recorded:
            ctx.log("notify: delivered by an earlier attempt; not sending again")
            return _outputs(ctx.recorded["status_code"], ctx.recorded.get("delivery_id"))
        if config.slack is not None:
            return await _to_slack(ctx, config.slack, config.timeout)
        assert config.webhook is not None  # the model validator makes sure
        return await _to_webhook(ctx, config.webhook, config.timeout)


async def _through_integration(ctx: StepContext, name: str, notice: Notice) -> dict[str, Any]:
    """Send through the server's integration `name`, once: a retry after it was sent answers
    what the first attempt recorded."""
    sent = ctx.recorded.get("notice")
    if isinstance(sent, dict) and sent.get("integration") == name:
        ctx.log(f"notify: sent through {name} by an earlier attempt; not sending again")
        return {"integration": name, "notice_id": sent.get("id")}
    if ctx.notices is None:
        raise StepFailed("notify: integrations are not available to this run")
    try:
        answer = await ctx.notices.send(name, notice)
    except IntegrationFailed as error:
        said = str(error) if str(error).startswith(error.code) else f"{error.code}: {error}"
        raise StepFailed(f"notify: {ctx.mask(said)}") from None
    await ctx.record("notice", {"integration": name, "id": answer.id})
    ctx.log(f"notify: sent through {name}" + (f" ({answer.id})" if answer.id else ""))
    return {"integration": name, "notice_id": answer.id}


async def _to_slack(ctx: StepContext, notice: SlackNotice, time_limit: float) -> dict[str, Any]:
    url = await _resolve(ctx, notice.webhook_url, "slack.webhook_url")
    body = _json_bytes({"text": notice.text})
    response = await _post(ctx, "Slack", url, body, _headers(), time_limit)
    await ctx.record("status_code", response.status_code)
    ctx.log(f"notify: posted to Slack, which answered {response.status_code}")
    return _outputs(response.status_code, None)


async def _to_webhook(ctx: StepContext, notice: WebhookNotice, time_limit: float) -> dict[str, Any]:
    url = notice.url
    if is_reference(url):
        url = await _resolve(ctx, url, "webhook.url")
    delivery_id = ctx.recorded.get("delivery_id") or str(uuid.uuid4())
    await ctx.record("delivery_id", delivery_id)
    body = _json_bytes(notice.payload if notice.payload is not None else default_payload(ctx))
    headers = _headers(delivery_id)
    if notice.secret is not None:
        key = await _resolve(ctx, notice.secret, "webhook.secret")
        headers["X-Shipyard-Signature-256"] = signature(key, body)
    response = await _post(ctx, "the webhook", url, body, headers, time_limit)
    await ctx.record("status_code", response.status_code)
    ctx.log(f"notify: webhook delivery {delivery_id} answered {response.status_code}")
    return _outputs(response.status_code, delivery_id)


def default_payload(ctx: StepContext) -> dict[str, Any]:
    """The webhook body when config gives none: which run, of what, where to look."""
    run = ctx.run
    return {
        "run_id": run.id,
        "pipeline": run.pipeline,
        "repository": run.repo.full_name,
        "sha": run.sha,
        "ref": run.ref,
        "pr_number": run.pr_number,
        "run_url": run.page_url,
    }


def signature(key: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of body>`, the X-Shipyard-Signature-256 value."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


async def _post(
    ctx: StepContext,
    target: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    time_limit: float,
) -> httpx.Response:
    """POST, turning every failure into a StepFailed that names no URL and no secret (the
    resolved ones are in the step's mask)."""
    try:
        response = await ctx.http.post(url, content=body, headers=headers, timeout=time_limit)
    except httpx.TimeoutException:
        raise StepFailed(f"notify: {target} did not answer within {time_limit:g}s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        # Only the class name: transport messages can quote parts of a secret URL.
        raise StepFailed(f"notify: could not reach {target} ({type(error).__name__})") from None
    if not response.is_success:
        detail = ctx.mask(" ".join(response.text[:_DETAIL_CHARS].split()))
        said = f": {detail}" if detail else ""
        raise StepFailed(f"notify: {target} answered HTTP {response.status_code}{said}")
    return response


async def _resolve(ctx: StepContext, ref: str, where: str) -> str:
    try:
        return await ctx.secrets.resolve(ref)
    except SecretError as error:
        raise StepFailed(f"notify: {where}: {error}") from None


def _headers(delivery_id: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if delivery_id is not None:
        headers |= {"X-Shipyard-Event": EVENT, "X-Shipyard-Delivery": delivery_id}
    return headers


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _outputs(status_code: int, delivery_id: str | None) -> dict[str, Any]:
    outputs: dict[str, Any] = {"status_code": status_code}
    if delivery_id is not None:
        outputs["delivery_id"] = delivery_id
    return outputs


step = Notify()
