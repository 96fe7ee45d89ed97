"""Deliveries built to break a column — a 400-character ref, a sha too long, a pull request
number past int32 or int64, a NUL in a branch or the action, a 100 kB title — are stored,
then processed with bounded values or failed with an error naming the field, on SQLite and
PostgreSQL; never left `queued` or `processing`, never an exception out of a job."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from app.db.models.deliveries import Delivery
from app.main import create_app
from app.settings import Settings
from providers.bounds import TITLE_MAX
from tests.support.bounds import changed
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery
from tests.support.hosts import github, pull_request_delivery
from tests.support.http import running
from tests.support.runs import all_runs
from tests.support.settings import make_settings

CONFIG = """
pipelines:
  checks:
    on: {push: true, pull_request: [opened]}
    steps:
      - {name: mark, type: update_status, config: {state: success}}
"""


def _pull_request(**changes: Any) -> tuple[str, dict[str, Any]]:
    event, payload = pull_request_delivery("github")
    return event, changed(payload, **changes)


def _push(**changes: Any) -> tuple[str, dict[str, Any]]:
    return "push", changed(PUSH, **changes)


async def _deliver(
    migrated: str, event: str, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> tuple[int, Delivery, Settings]:
    """POST the signed delivery to the app, whose in-process queue processes and routes it."""
    with github(CONFIG) as host, caplog.at_level(logging.ERROR):
        settings = make_settings(migrated, **host.settings)
        body, headers = delivery("github", event, payload, delivery_id="bounds-1")
        app = create_app(settings)
        async with running(app) as client:
            response = await client.post("/webhooks/github", content=body, headers=headers)
            await app.state.services.queue.join()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], "a job raised"
    [row] = await stored(settings)
    return response.status_code, row, settings


@pytest.mark.parametrize(
    ("build", "field", "limit"),
    [
        (_push(ref="refs/heads/" + "b" * 400), "payload.ref", "300"),
        (_push(ref="refs/heads/fea\x00ture"), "payload.ref", "control character"),
        (
            _pull_request(pull_request__head__ref="r" * 400),
            "payload.pull_request.head.ref",
            "300",
        ),
        (
            _pull_request(pull_request__head__ref="fea\x00ture"),
            "payload.pull_request.head.ref",
            "control character",
        ),
        (
            _pull_request(pull_request__head__sha="a" * 65),
            "payload.pull_request.head.sha",
            "40 or 64",
        ),
        (_pull_request(number=2**31), "payload.number", "2147483647"),
        (_pull_request(number=2**63), "payload.number", "2147483647"),
        (
            _pull_request(pull_request__number=2**31),
            "payload.pull_request.number",
            "2147483647",
        ),
        (_pull_request(installation={"id": 2**63}), "payload.installation.id", "2**63"),
    ],
    ids=[
        "push-ref-400",
        "push-ref-nul",
        "head-ref-400",
        "head-ref-nul",
        "sha-65",
        "number-2**31",
        "number-2**63",
        "pull-request-number-2**31",
        "installation-id-2**63",
    ],
)
async def test_a_value_no_column_holds_fails_the_delivery_naming_the_field(
    migrated: str,
    caplog: pytest.LogCaptureFixture,
    build: tuple[str, dict[str, Any]],
    field: str,
    limit: str,
) -> None:
    event, payload = build
    status, row, settings = await _deliver(migrated, event, payload, caplog)
    assert status == 202
    assert row.status == "failed", row.error
    assert row.error is not None
    assert field in row.error
    assert limit in row.error
    assert await all_runs(settings) == []


async def test_a_nul_in_the_action_is_stored_without_it_and_fails_processing(
    migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    event, payload = _pull_request(action="open\x00ed")
    status, row, _ = await _deliver(migrated, event, payload, caplog)
    assert status == 202
    assert row.action == "opened"
    assert row.status == "failed"
    assert row.error is not None
    assert "payload.action" in row.error


async def test_a_100_kb_title_is_cut_and_the_run_starts(
    migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    event, payload = _pull_request(pull_request__title="t\x00" * 50_000)
    status, row, settings = await _deliver(migrated, event, payload, caplog)
    assert status == 202
    assert row.status == "processed", row.error
    assert row.normalised is not None
    title = row.normalised["pull_request"]["title"]
    assert title == "t" * (TITLE_MAX - 1) + "…"
    [(run, _)] = await all_runs(settings)
    assert run.event is not None
    assert run.event["pull_request"]["title"] == title


async def test_an_installation_id_past_int32_is_kept(
    migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    """GitHub's ids pass 2**31 (comment ids already have): the column is a BIGINT."""
    event, payload = _pull_request(installation={"id": 2**40})
    status, row, settings = await _deliver(migrated, event, payload, caplog)
    assert (status, row.status) == (202, "processed")
    [(run, _)] = await all_runs(settings)
    assert run.installation_id == 2**40


async def test_control_characters_in_the_delivery_id_and_event_headers_are_not_stored(
    migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, headers = delivery("github", "push", PUSH)
    raw = [(k.encode(), v.encode()) for k, v in headers.items() if k != "X-GitHub-Delivery"]
    raw.append((b"X-GitHub-Delivery", b"d\x00-\x1f1"))
    with caplog.at_level(logging.ERROR):
        settings = make_settings(migrated)
        app = create_app(settings)
        async with running(app) as client:
            response = await client.post("/webhooks/github", content=body, headers=raw)
            await app.state.services.queue.join()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert (response.status_code, response.json()["delivery_id"]) == (202, "d-1")
    [row] = await stored(settings)
    assert (row.delivery_id, row.status) == ("d-1", "processed")


async def test_a_number_longer_than_python_reads_is_a_400(migrated: str) -> None:
    body = b'{"ref": "refs/heads/main", "number": ' + b"9" * 5000 + b"}"
    _, headers = delivery("github", "push", body)
    settings = make_settings(migrated)
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert await stored(settings) == []
