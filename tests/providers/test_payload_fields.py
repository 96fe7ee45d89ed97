"""The fields each event always carries: no real delivery lacks one (the table says nothing
false), and a payload sent with the wrong event lacks them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.payload_fields import ALWAYS, missing_fields
from tests.support.corpus import corpus_cases, corpus_dir, event_name

CORPUS = corpus_dir()  # skips without the corpus, fails under CI=true
CASES = corpus_cases(CORPUS)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["file"])
def test_no_real_delivery_lacks_a_field_its_event_always_carries(case: dict[str, Any]) -> None:
    payload = json.loads((CORPUS / case["file"]).read_bytes())
    assert missing_fields(case["provider"], event_name(case), payload) == []


def test_every_event_in_the_table_has_a_real_delivery_or_is_one_shipyard_routes() -> None:
    seen = {(case["provider"], event_name(case)) for case in CASES}
    for provider in ("github", "gitlab", "gitea"):
        known = [event for event in ALWAYS[provider] if (provider, event) in seen]
        assert len(known) >= len(ALWAYS[provider]) // 2, (provider, known)


@pytest.mark.parametrize(
    ("provider", "event", "payload", "missing"),
    [
        ("github", "pull_request", {"foo": 1}, ["action", "number", "pull_request", "repository"]),
        (
            "github",
            "push",
            {"ref": "refs/heads/main", "before": None},
            ["before", "after", "repository"],
        ),
        ("gitlab", "Merge Request Hook", {"object_kind": "push"}, ["object_attributes", "project"]),
        ("forgejo", "release", {"action": "published"}, ["release", "repository"]),
        ("github", "sponsorship", {}, []),  # an event the table does not know: nothing to say
        ("registry", "push", {}, []),
    ],
)
def test_what_a_payload_lacks(
    provider: str, event: str, payload: dict[str, Any], missing: list[str]
) -> None:
    assert missing_fields(provider, event, payload) == missing
