"""Webhook protocol per Git host, sans I/O: headers, signature checks and body parsing."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from providers.bounds import ACTION_MAX, DELIVERY_ID_MAX, EVENT_NAME_MAX, line

__all__ = [
    "WEBHOOKS",
    "BadPayload",
    "BadSignature",
    "UnsupportedMediaType",
    "WebhookSpec",
    "delivery_action",
    "json_depth",
    "parse_body",
    "verify_bearer",
    "verify_github",
    "verify_hex_hmac",
    "verify_token",
]

Headers = Mapping[str, str]  # lower-case names


class BadSignature(Exception):
    """The delivery does not prove it came from the host (401)."""


class BadPayload(Exception):
    """The body is not what the host sends (400)."""


class UnsupportedMediaType(Exception):
    """The body's content type is not one the host sends (415)."""


MAX_JSON_DEPTH = 64  # real deliveries nest about a dozen levels


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of a header value and the expected signature, as bytes: a
    header holding non-ASCII characters is a mismatch, never an exception."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def verify_github(headers: Headers, body: bytes, secret: str) -> None:
    """GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`."""
    signature = headers.get("x-hub-signature-256")
    if not signature:
        raise BadSignature("missing X-Hub-Signature-256 header")
    if not signature.startswith("sha256="):
        raise BadSignature("X-Hub-Signature-256 must start with 'sha256='")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not _same(signature, expected):
        raise BadSignature("X-Hub-Signature-256 does not match the body")


def verify_token(headers: Headers, body: bytes, secret: str) -> None:
    """GitLab: `X-Gitlab-Token` carries the shared secret itself."""
    token = headers.get("x-gitlab-token")
    if not token:
        raise BadSignature("missing X-Gitlab-Token header")
    if not _same(token, secret):
        raise BadSignature("X-Gitlab-Token does not match")


def verify_bearer(headers: Headers, body: bytes, secret: str) -> None:
    """A container registry: `Authorization: Bearer <token>`, a header its notification
    endpoint is configured to send (registries sign nothing)."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BadSignature("missing Authorization: Bearer <token> header")
    if not _same(token.strip(), secret):
        raise BadSignature("the Authorization bearer token does not match")


def verify_hex_hmac(*names: str) -> Callable[[Headers, bytes, str], None]:
    """Gitea / Forgejo: a hex HMAC-SHA256 of the raw body in the first of `names` present."""

    def verify(headers: Headers, body: bytes, secret: str) -> None:
        shown = " or ".join(_title(name) for name in names)
        signature = next((headers[name] for name in names if headers.get(name)), None)
        if signature is None:
            raise BadSignature(f"missing {shown} header")
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not _same(signature.strip().lower(), expected):
            raise BadSignature(f"{shown} does not match the body")

    return verify


def _title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-")).replace("Github", "GitHub")


@dataclass(frozen=True)
class WebhookSpec:
    """How one host signs, names and identifies its deliveries."""

    provider: str
    display_name: str
    key_setting: str
    event_headers: tuple[str, ...]
    delivery_headers: tuple[str, ...]
    verify: Callable[[Headers, bytes, str], None]
    accepts_form: bool
    ping_events: frozenset[str] = frozenset()
    secret_headers: frozenset[str] = frozenset()

    def event_name(self, headers: Headers) -> str | None:
        return _first(headers, self.event_headers, EVENT_NAME_MAX)

    def delivery_id(self, headers: Headers) -> str | None:
        return _first(headers, self.delivery_headers, DELIVERY_ID_MAX)

    def stored_headers(self, headers: Headers) -> dict[str, str]:
        """The headers worth keeping: the host's own and the content type, never a secret."""
        prefixes = ("x-github-", "x-gitlab-", "x-gitea-", "x-forgejo-", "x-gogs-")
        kept = {"content-type", "user-agent", "idempotency-key"}
        return {
            name: value
            for name, value in headers.items()
            if (name in kept or name.startswith(prefixes))
            and name not in self.secret_headers
            and "signature" not in name
        }


def _first(headers: Headers, names: tuple[str, ...], limit: int) -> str | None:
    """The first of the headers with a value, as the deliveries table keeps it: without control
    characters (a NUL made a delivery unstorable on PostgreSQL), cut to its column."""
    values = (line(headers.get(name, "").strip(), limit).strip() for name in names)
    return next((value for value in values if value), None)


WEBHOOKS: dict[str, WebhookSpec] = {
    "github": WebhookSpec(
        provider="github",
        display_name="GitHub",
        key_setting="GITHUB_WEBHOOK_SECRET",
        event_headers=("x-github-event",),
        delivery_headers=("x-github-delivery",),
        verify=verify_github,
        accepts_form=True,
        ping_events=frozenset({"ping"}),
    ),
    "gitlab": WebhookSpec(
        provider="gitlab",
        display_name="GitLab",
        key_setting="GITLAB_WEBHOOK_SECRET",
        event_headers=("x-gitlab-event",),
        delivery_headers=("idempotency-key", "x-gitlab-event-uuid"),
        verify=verify_token,
        accepts_form=False,
        secret_headers=frozenset({"x-gitlab-token"}),
    ),
    "gitea": WebhookSpec(
        provider="gitea",
        display_name="Gitea",
        key_setting="GITEA_WEBHOOK_SECRET",
        event_headers=("x-gitea-event",),
        delivery_headers=("x-gitea-delivery",),
        verify=verify_hex_hmac("x-gitea-signature"),
        accepts_form=True,
    ),
    "forgejo": WebhookSpec(
        provider="forgejo",
        display_name="Forgejo",
        key_setting="GITEA_WEBHOOK_SECRET",
        event_headers=("x-forgejo-event", "x-gitea-event"),
        delivery_headers=("x-forgejo-delivery", "x-gitea-delivery"),
        verify=verify_hex_hmac("x-forgejo-signature", "x-gitea-signature"),
        accepts_form=True,
    ),
    # A container registry's notifications (app.intake.registry): one envelope holds many
    # events, each stored as its own delivery, named by the event's id and action.
    "registry": WebhookSpec(
        provider="registry",
        display_name="Registry",
        key_setting="SHIPYARD_REGISTRY_WEBHOOK_TOKEN",
        event_headers=(),
        delivery_headers=(),
        verify=verify_bearer,
        accepts_form=False,
        secret_headers=frozenset({"authorization"}),
    ),
}


def parse_body(spec: WebhookSpec, headers: Headers, body: bytes) -> dict[str, Any]:
    """The delivery's JSON object, from a JSON body or (where the host can send one) a form."""
    content_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded" and spec.accepts_form:
        raw = _form_payload(body)
    elif content_type == "application/json" or content_type.endswith("+json"):
        raw = body
    else:
        accepted = "application/json" + (
            " or application/x-www-form-urlencoded" if spec.accepts_form else ""
        )
        raise UnsupportedMediaType(
            f"{spec.display_name} deliveries are {accepted}, not {content_type}"
        )
    try:
        payload = json.loads(raw)
    except ValueError as error:  # not UTF-8, not JSON, or a number longer than Python reads
        raise BadPayload(f"body is not valid JSON: {error}") from error
    except RecursionError:
        raise BadPayload(f"body nests deeper than {MAX_JSON_DEPTH} levels") from None
    if _too_deep(raw):
        raise BadPayload(f"body nests deeper than {MAX_JSON_DEPTH} levels")
    if not isinstance(payload, dict):
        raise BadPayload(f"body must be a JSON object, not {type(payload).__name__}")
    return payload


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # "…", escapes and all
_OPENS_AND_CLOSES = bytes.maketrans(b"{[}]", b"\x02\x02\x00\x00")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"{[}]"))


def json_depth(raw: bytes | str) -> int:
    """How deeply lists and objects nest in the JSON text `raw`: its brackets outside strings,
    counted (the strings are dropped by one regular expression, then only brackets are left
    to walk: a few hundred in a large delivery, where walking the parsed object costs far
    more)."""
    text = raw.encode() if isinstance(raw, str) else raw
    brackets = _JSON_STRING.sub(b"", text).translate(None, _NOT_BRACKETS)
    steps = brackets.translate(_OPENS_AND_CLOSES)  # 2 opens a level, 0 closes one
    return max(itertools.accumulate(step - 1 for step in steps), default=0)


def _too_deep(raw: bytes | str) -> bool:
    text = raw.encode() if isinstance(raw, str) else raw
    if text.count(b"{") + text.count(b"[") <= MAX_JSON_DEPTH:  # too few to nest deeper
        return False
    return json_depth(text) > MAX_JSON_DEPTH


def _form_payload(body: bytes) -> bytes:
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadPayload(f"form body could not be parsed: {error}") from error
    values = fields.get("payload")
    if not values:
        raise BadPayload("form body has no 'payload' field")
    return values[0].encode()


def delivery_action(payload: Mapping[str, Any]) -> str | None:
    """The host's action word for the delivery, if any (GitLab's is in object_attributes), as
    the deliveries table keeps it: without control characters, cut to the column. Stored
    before anything is refused, so that a delivery is never unstorable; normalising it later
    refuses such an action with an error naming it."""
    action = payload.get("action")
    if action is None and isinstance(payload.get("object_attributes"), dict):
        action = payload["object_attributes"].get("action")
    return line(action, ACTION_MAX) if isinstance(action, str) else None
