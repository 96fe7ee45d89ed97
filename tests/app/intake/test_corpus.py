"""Every real delivery in ../shared/corpus goes through the whole intake and is processed."""

from __future__ import annotations

import pytest

from app.main import create_app
from app.settings import Settings
from tests.support.corpus import KINDS, case_key, corpus_cases, corpus_dir
from tests.support.database import stored
from tests.support.deliveries import delivery
from tests.support.http import running
from tests.support.settings import make_settings

# Skips this module without the corpus, fails it under CI=true.
CORPUS = corpus_dir()
CASES = corpus_cases(CORPUS)

# The secret go-playground/webhooks signed its Gitea samples with (gitea/gitea_test.go).
GITEA_CORPUS_SECRET = "IsWishesWereHorsesWedAllBeEatingSteak!"


async def test_every_corpus_delivery_is_stored_and_normalised(settings: Settings) -> None:
    """A file the manifest lists twice (under two event headers) is the same body: a replay,
    answered as a duplicate; every other case is stored and processed."""
    app = create_app(settings)
    first: set[tuple[str, bytes]] = set()
    replays: list[int] = []
    async with running(app) as client:
        for number, case in enumerate(CASES):
            _, event = case_key(case)
            body = (CORPUS / case["file"]).read_bytes()
            _, headers = delivery(case["provider"], event, body, delivery_id=f"corpus-{number}")
            response = await client.post(
                f"/webhooks/{case['provider']}", content=body, headers=headers
            )
            if (case["provider"], body) in first:
                replays.append(number)
                assert response.json().get("status") == "duplicate", (case, response.text)
            else:
                assert response.status_code in (200, 202), (case, response.text)
            first.add((case["provider"], body))
        await app.state.services.queue.join()
    rows = {row.delivery_id: row for row in await stored(settings)}
    assert len(rows) == len(CASES) - len(replays)
    for number, case in enumerate(CASES):
        if number in replays:
            continue
        row = rows[f"corpus-{number}"]
        expected = KINDS[case_key(case)]
        if row.event == "ping":
            assert row.status == "ignored"
            continue
        assert row.kind == expected, case
        assert row.status == ("ignored" if expected == "other" else "processed"), (case, row.error)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["provider"] == "gitea"], ids=lambda c: c["file"]
)
async def test_gitea_corpus_signatures_verify_as_delivered(
    migrated: str, case: dict[str, str]
) -> None:
    """The samples carry the signature Gitea computed; the intake accepts them unchanged."""
    settings = make_settings(migrated, GITEA_WEBHOOK_SECRET=GITEA_CORPUS_SECRET)
    body = (CORPUS / case["file"]).read_bytes()
    headers = {
        **case["headers"],
        "X-Gitea-Delivery": case["file"],
        "Content-Type": "application/json",
    }
    async with running(create_app(settings)) as client:
        accepted = await client.post("/webhooks/gitea", content=body, headers=headers)
        tampered = await client.post(
            "/webhooks/gitea", content=body.replace(b'"', b' "', 1), headers=headers
        )
    assert accepted.status_code == 202, accepted.text
    assert tampered.status_code == 401
