"""The pipelines' handler on a stored delivery: a failing `shipyard/config` status is posted
even when the host first fails to take it, and the delivery's outcome waits for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.intake import store
from app.intake.processing import process_delivery
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from tests.support.gate import ConfigHost, stored_delivery
from tests.support.hosts import HEAD_SHA
from tests.support.queue import RecordingQueue

BROKEN = b"""\
pipelines:
  review:
    on: {pull_request: [opened]}
    steps: [{name: a, type: nope}]
"""


@pytest.fixture
async def host_and_services(settings: Settings) -> AsyncIterator[tuple[ConfigHost, Services]]:
    host = ConfigHost(BROKEN, failures=1)
    queue = RecordingQueue()
    async with open_services(settings, queue=queue, providers=lambda *_: host) as services:
        yield host, services


async def outcome(services: Services, pk: int) -> dict[str, Any] | None:
    delivery = await store.get(services.sessions, pk)
    assert delivery is not None
    return delivery.outcome


async def test_the_config_status_is_retried_and_the_outcome_waits_for_it(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    host, services = host_and_services
    pk = await stored_delivery(services)

    assert await process_delivery(services, pk) == "retrying"
    assert host.statuses == []
    assert await outcome(services, pk) is None  # so the retry routes it again
    assert isinstance(services.queue, RecordingQueue)
    [retry] = services.queue.jobs
    assert retry.args == (pk,)

    assert await process_delivery(services, pk) == "processed"
    [(sha, status)] = host.statuses
    assert (sha, status.context, status.state.value) == (HEAD_SHA, "shipyard/config", "failure")
    assert "unknown step type 'nope'" in (status.description or "")
    recorded = await outcome(services, pk)
    assert recorded is not None
    assert "unknown step type 'nope'" in recorded["pipelines"]["config_error"]


async def test_on_the_last_try_the_outcome_says_the_status_was_not_set(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    host, services = host_and_services
    host.failures = 99
    pk = await stored_delivery(services)

    for _ in range(services.settings.delivery_max_tries - 1):
        assert await process_delivery(services, pk) == "retrying"
    assert await process_delivery(services, pk) == "processed"

    recorded = await outcome(services, pk)
    assert recorded is not None
    assert "unknown step type 'nope'" in recorded["pipelines"]["config_error"]
    assert recorded["pipelines"]["note"].startswith(
        "the failing shipyard/config status was not set: GitHub: POST /repos/acme/web/statuses/"
    )


async def test_a_config_that_declares_nothing_fails_the_config_status(settings: Settings) -> None:
    host = ConfigHost(b"# nothing yet\n")
    async with open_services(settings, providers=lambda *_: host) as services:
        pk = await stored_delivery(services)
        await process_delivery(services, pk)
        recorded = await outcome(services, pk)
    [(_, status)] = host.statuses
    assert status.state.value == "failure"
    assert status.description == (
        ".shipyard.yml: declares nothing (no pipelines, releases or environments)"
    )
    assert recorded == {"pipelines": {"config_error": status.description}}
