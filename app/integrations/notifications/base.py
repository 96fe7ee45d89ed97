"""What every notification connector shares: the `Notifier` protocol, and the HTTP edge —
a JSON POST whose failures become the hub's errors without the URL (often the credential
itself), and a reachability check that sends nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, Protocol, runtime_checkable

import httpx

from app.integrations.connector import (
    SERVER_REFERENCE_SCHEMES,
    ConnectorContext,
    Resource,
    http_error,
)
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from steps.integrations import Notice, NoticeSent
from steps.secret_refs import SecretError, is_reference, parse_reference

__all__ = [
    "USER_AGENT",
    "Notifier",
    "answer_of",
    "check_http_url",
    "check_url_or_reference",
    "json_bytes",
    "no_discovery",
    "post_json",
    "raise_for_status",
    "reach",
    "resolve_url",
]

USER_AGENT = "shipyard"


@runtime_checkable
class Notifier(Protocol):
    """A `notification` connector: checks, discovery, and sending one notice."""

    async def check(self, level: CheckLevel) -> str: ...

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]: ...

    async def send(self, notice: Notice) -> NoticeSent: ...


def check_http_url(value: str, what: str) -> str:
    """`value` when it is an http(s) URL with a host (without a trailing slash)."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise ValueError(f"{what} must be an http:// or https:// URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{what} must be an http:// or https:// URL")
    return value.rstrip("/")


def check_url_or_reference(value: str, what: str) -> str:
    """An http(s) URL, or a server-side reference to one (a URL that carries a token)."""
    if is_reference(value):
        try:
            parse_reference(value, allowed=SERVER_REFERENCE_SCHEMES)
        except SecretError as error:
            raise ValueError(f"{what}: {error}") from None
        return value
    return check_http_url(value, what)


async def resolve_url(ctx: ConnectorContext, reference: str) -> str:
    """The URL a reference holds (a webhook's, its token in it), checked to be an http(s) URL;
    a wrong one is named by its reference, never its value."""
    value = await ctx.resolve(reference)
    try:
        url = httpx.URL(value)
        valid = url.scheme in ("http", "https") and bool(url.host)
        valid = valid and (url.port is None or 0 < url.port < 65536)
    except httpx.InvalidURL:
        valid = False
    if not valid:
        raise IntegrationError("INVALID_CONFIG", f"{reference} does not hold an http(s) URL")
    return value


def json_bytes(value: Any) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _scrubbed(error: IntegrationError, secrets: Iterable[str]) -> IntegrationError:
    detail = error.detail
    for secret in secrets:
        if secret:
            detail = detail.replace(secret, "***")
    if detail == error.detail:
        return error
    return IntegrationError(error.code, detail, retry_after=error.retry_after)


async def post_json(
    ctx: ConnectorContext,
    url: str,
    body: Any,
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    check_status: bool = True,
) -> httpx.Response:
    """POST `body` as JSON; an error status (unless `check_status` is False) or a transport
    failure is raised as the hub's error naming `what`, never the URL or `secrets`."""
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    content = body if isinstance(body, bytes) else json_bytes(body)
    secrets = [url, *secrets]
    try:
        response = await ctx.http.post(
            url, content=content, headers=sent, timeout=ctx.config.timeout
        )
    except httpx.HTTPError as error:
        raise _scrubbed(http_error(error, what), secrets) from None
    except httpx.InvalidURL:
        raise _invalid_url(what) from None
    if check_status:
        raise_for_status(response, what, secrets)
    return response


def _invalid_url(what: str) -> IntegrationError:
    # Not httpx's reason: it quotes the URL, which may be the credential.
    return IntegrationError("INVALID_CONFIG", f"{what}: the URL is not a valid http(s) URL")


def raise_for_status(response: httpx.Response, what: str, secrets: Iterable[str] = ()) -> None:
    """An error status as the hub's error (`connector.http_error`), naming `what`."""
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as error:
        raise _scrubbed(http_error(error, what), secrets) from None


async def reach(ctx: ConnectorContext, url: str, *, what: str) -> str:
    """Connectivity without sending anything: any HTTP answer from the URL's origin will do."""
    try:
        origin = httpx.URL(url).copy_with(path="/", query=None, fragment=None)
        response = await ctx.http.get(
            origin, headers={"User-Agent": USER_AGENT}, timeout=ctx.config.timeout
        )
    except httpx.HTTPError as error:
        raise _scrubbed(http_error(error, what), [url]) from None
    except httpx.InvalidURL:
        raise _invalid_url(what) from None
    return f"{what} answered (HTTP {response.status_code})"


def answer_of(response: httpx.Response) -> dict[str, Any]:
    """A JSON object answered, or {} for anything else."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def no_discovery(provider: str, resource_type: str) -> NoReturn:
    raise IntegrationError("UNSUPPORTED", f"{provider} discovers nothing (asked: {resource_type})")
