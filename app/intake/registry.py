"""A container registry's notifications at the intake: its bearer token, and each event of an
envelope as a delivery of its own (provider `registry`), for the same store and delivery job
the hosts' webhooks go through.

The CNCF distribution registry (and Harbor, GitLab's registry) POSTs
`{"events": [...]}` as `application/vnd.docker.distribution.events.v1+json`, and retries an
envelope until it is answered 2xx, possibly batched with other events. So each event is
stored by its own `id`, with its JSON serialised one way (sorted keys, no spaces): however an
event comes back, it is the same delivery, and a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.intake import store
from app.settings import Settings
from providers.bounds import ACTION_MAX, DELIVERY_ID_MAX, exact_problem
from providers.webhooks import WEBHOOKS, BadPayload, BadSignature, parse_body

__all__ = ["EVENTS_MEDIA_TYPE", "PROVIDER", "RegistryEvent", "check_token", "events_of", "rows_of"]

PROVIDER = "registry"
EVENTS_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
_SPEC = WEBHOOKS[PROVIDER]


@dataclass(frozen=True)
class RegistryEvent:
    """One event of an envelope: its id and action, and its JSON as it is stored."""

    delivery_id: str
    action: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def check_token(settings: Settings, headers: Mapping[str, str]) -> None:
    """BadSignature unless the request carries SHIPYARD_REGISTRY_WEBHOOK_TOKEN as its bearer
    token; with the setting unset, every notification is refused (there is no unsigned mode:
    a registry push can start a release)."""
    token = settings.registry_webhook_token
    secret = token.get_secret_value() if token is not None else ""
    if not secret:
        raise BadSignature(
            "registry notifications are refused: no token is configured. Set "
            f"{_SPEC.key_setting}, and have the registry's notification endpoint send "
            "'Authorization: Bearer <that token>'."
        )
    _SPEC.verify(headers, b"", secret)


def events_of(headers: Mapping[str, str], body: bytes) -> list[RegistryEvent]:
    """The envelope's events, each serialised for storing. BadPayload for what a registry does
    not send (not JSON, no `events` list, an event without a string `id` and `action`);
    UnsupportedMediaType for a body that is not JSON by its content type."""
    envelope = parse_body(_SPEC, headers, body)
    events = envelope.get("events")
    if not isinstance(events, list):
        raise BadPayload('a registry notification is {"events": [...]}; this has no events list')
    return [_event(index, event) for index, event in enumerate(events)]


def _event(index: int, event: Any) -> RegistryEvent:
    if not isinstance(event, dict):
        raise BadPayload(f"events[{index}] is not an object")
    values = []
    for key, limit in (("id", DELIVERY_ID_MAX), ("action", ACTION_MAX)):
        value = event.get(key)
        if not isinstance(value, str) or not value:
            raise BadPayload(f"events[{index}].{key} should be a non-empty string")
        problem = exact_problem(value, limit)
        if problem is not None:
            raise BadPayload(f"events[{index}].{key} {problem}")
        values.append(value)
    body = json.dumps(event, sort_keys=True, separators=(",", ":"))  # ASCII: one way only
    return RegistryEvent(values[0], values[1], body.encode())


def rows_of(events: list[RegistryEvent], headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """The `deliveries` rows of the events: each body is that event's JSON alone."""
    kept = {**_SPEC.stored_headers(dict(headers)), "content-type": "application/json"}
    return [
        store.new_row(
            provider=PROVIDER,
            delivery_id=event.delivery_id,
            event=event.action,
            action=event.action,
            headers=kept,
            body=event.body,
            body_sha256=event.sha256,
            signed=True,
        )
        for event in events
    ]
