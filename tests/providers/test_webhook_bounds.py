"""What the intake stores of every delivery before anything is refused — its id, event and
action — holds no control character and fits its column, whatever the host sent."""

from __future__ import annotations

import pytest

from providers.bounds import ACTION_MAX, DELIVERY_ID_MAX, EVENT_NAME_MAX
from providers.webhooks import WEBHOOKS, BadPayload, delivery_action, parse_body


@pytest.mark.parametrize(
    ("payload", "stored"),
    [
        ({"action": "open\x00ed"}, "opened"),
        ({"action": "a\ud800b\x1f\n"}, "ab"),
        ({"action": "x" * 500}, "x" * ACTION_MAX),
        ({"object_attributes": {"action": "up\x00date"}}, "update"),
        ({"action": ""}, ""),
        ({"action": 5}, None),
        ({}, None),
    ],
    ids=["nul", "controls-and-surrogate", "long", "gitlab", "empty", "not-a-string", "none"],
)
def test_the_stored_action_is_cleaned_and_cut(payload: dict[str, object], stored: str) -> None:
    assert delivery_action(payload) == stored


def test_the_event_and_delivery_id_headers_are_cleaned_and_cut() -> None:
    spec = WEBHOOKS["github"]
    headers = {"x-github-event": "pu\x00sh", "x-github-delivery": "d\x00-1\x7f"}
    assert (spec.event_name(headers), spec.delivery_id(headers)) == ("push", "d-1")
    long = {"x-github-event": "e" * 300, "x-github-delivery": "d" * 300}
    assert spec.event_name(long) == "e" * EVENT_NAME_MAX
    assert spec.delivery_id(long) == "d" * DELIVERY_ID_MAX


def test_a_header_of_control_characters_only_is_missing() -> None:
    spec = WEBHOOKS["gitlab"]
    headers = {"x-gitlab-event": "\x00\x01", "idempotency-key": "\x00", "x-gitlab-event-uuid": "u"}
    assert spec.event_name(headers) is None
    assert spec.delivery_id(headers) == "u"


def test_a_number_longer_than_python_reads_is_a_bad_payload() -> None:
    body = b'{"number": ' + b"9" * 5000 + b"}"
    with pytest.raises(BadPayload, match="not valid JSON"):
        parse_body(WEBHOOKS["github"], {"content-type": "application/json"}, body)
