"""A delivery is finished only when its handlers are: what a handler raises is caught at the
job's boundary, the delivery is tried again with backoff (only the handlers that did not
finish), and after its last try it is `failed` with the error, masked."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.db.models.deliveries import Delivery, DeliveryStatus
from app.intake import store
from app.intake.processing import process_deliveries, process_delivery, retry_delay
from app.intake.queueing import PROCESS_DELIVERIES
from app.routing import EventRouter, Outcome, Routed, Router
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from providers.errors import NotFound, ServerError
from providers.events import EventKind
from tests.support.database import store_delivery
from tests.support.deliveries import PUSH
from tests.support.queue import RecordingQueue
from tests.support.settings import SECRETS, make_settings

SECRET = SECRETS["GITHUB_WEBHOOK_SECRET"]


class Handlers:
    """Two features' handlers for pushes; each fails as often as told, then says it ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failures: dict[str, list[Exception]] = {"first": [], "second": []}
        self.first: Router[Services] = Router("first")
        self.second: Router[Services] = Router("second")
        self.first.register(EventKind.PUSH)(self._handler("first"))
        self.second.register(EventKind.PUSH)(self._handler("second"))

    def _handler(self, name: str) -> Any:
        async def handle(_services: Services, routed: Routed) -> Outcome:
            self.calls.append(f"{name} last_try={routed.last_try}")
            if self.failures[name]:
                raise self.failures[name].pop(0)
            return {"ran": True}

        handle.__name__ = f"on_push_{name}"
        return handle

    def router(self) -> EventRouter[Services]:
        return EventRouter(self.first, self.second)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings, queue=RecordingQueue()) as opened:
        yield opened


def with_router(services: Services, handlers: Handlers) -> Services:
    return dataclasses.replace(services, router=handlers.router())


async def push_delivery(services: Services, delivery_id: str = "d-1", body: bytes = b"") -> int:
    row = Delivery(
        provider="github",
        delivery_id=delivery_id,
        event="push",
        body=body or json.dumps(PUSH).encode(),
        headers={"content-type": "application/json"},
        status=DeliveryStatus.QUEUED,
    )
    return (await store_delivery(services.sessions, row)).id


async def row(services: Services, pk: int) -> Delivery:
    found = await store.get(services.sessions, pk)
    assert found is not None
    return found


def queued(services: Services) -> RecordingQueue:
    assert isinstance(services.queue, RecordingQueue)
    return services.queue


async def test_handlers_that_finish_make_the_delivery_processed_with_their_outcome(
    services: Services,
) -> None:
    handlers = Handlers()
    pk = await push_delivery(services)
    assert await process_delivery(with_router(services, handlers), pk) == "processed"
    done = await row(services, pk)
    assert (done.status, done.attempts, done.error) == ("processed", 1, None)
    assert done.outcome == {"first": {"ran": True}, "second": {"ran": True}}
    assert done.handled == ["first.on_push_first", "second.on_push_second"]
    assert done.kind == "push"
    assert done.normalised is not None


async def test_a_failing_handler_is_retried_alone_with_backoff(services: Services) -> None:
    handlers = Handlers()
    handlers.failures["second"] = [RuntimeError("boom"), ServerError("GitHub", "POST", "/x", 502)]
    routed = with_router(services, handlers)
    pk = await push_delivery(services)

    assert await process_delivery(routed, pk) == "retrying"
    waiting = await row(services, pk)
    assert (waiting.status, waiting.attempts) == ("queued", 1)
    assert waiting.error == "unexpected RuntimeError: boom"
    assert waiting.handled == ["first.on_push_first"]  # what finished stays finished
    assert waiting.outcome == {"first": {"ran": True}}

    assert await process_delivery(routed, pk) == "retrying"
    assert await process_delivery(routed, pk) == "processed"

    assert handlers.calls == [
        "first last_try=False",
        "second last_try=False",
        "second last_try=False",
        "second last_try=False",
    ]
    done = await row(services, pk)
    assert (done.status, done.attempts, done.error) == ("processed", 3, None)
    assert done.outcome == {"first": {"ran": True}, "second": {"ran": True}}
    delay = services.settings.delivery_retry_seconds
    assert [(job.function, job.args, job.defer) for job in queued(services).jobs] == [
        (PROCESS_DELIVERIES, (pk,), retry_delay(delay, 1)),
        (PROCESS_DELIVERIES, (pk,), retry_delay(delay, 2)),
    ]
    assert retry_delay(delay, 2) == 2 * retry_delay(delay, 1)
    assert len({job.job_id for job in queued(services).jobs}) == 2  # an id per enqueue


async def test_after_the_last_try_the_delivery_failed_with_the_error_masked(
    migrated: str,
) -> None:
    settings = make_settings(migrated, SHIPYARD_DELIVERY_MAX_TRIES="2")
    handlers = Handlers()
    handlers.failures["first"] = [RuntimeError(f"token {SECRET} refused")] * 2
    async with open_services(settings, queue=RecordingQueue()) as services:
        pk = await push_delivery(services)
        routed = with_router(services, handlers)
        assert await process_delivery(routed, pk) == "retrying"
        assert await process_delivery(routed, pk) == "failed"
        failed = await row(services, pk)
    assert handlers.calls == ["first last_try=False", "first last_try=True"]
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert failed.error is not None
    assert "refused" in failed.error
    assert SECRET not in failed.error


async def test_a_host_error_that_will_not_pass_fails_at_once(services: Services) -> None:
    handlers = Handlers()
    handlers.failures["first"] = [NotFound("GitHub", "GET", "/repos/acme/web", 404)]
    pk = await push_delivery(services)
    assert await process_delivery(with_router(services, handlers), pk) == "failed"
    failed = await row(services, pk)
    assert (failed.status, failed.error) == ("failed", "GitHub: GET /repos/acme/web answered 404")
    assert queued(services).jobs == []


async def test_a_payload_that_cannot_be_normalised_fails_at_once(services: Services) -> None:
    pk = await push_delivery(services, body=b"[1, 2]")
    assert await process_delivery(with_router(services, Handlers()), pk) == "failed"
    failed = await row(services, pk)
    assert failed.status == "failed"
    assert failed.error
    assert queued(services).jobs == []


async def test_a_finished_delivery_is_not_processed_again(services: Services) -> None:
    handlers = Handlers()
    pk = await push_delivery(services)
    routed = with_router(services, handlers)
    await process_delivery(routed, pk)
    assert await process_delivery(routed, pk) == "not claimed: processed"
    assert len(handlers.calls) == 2


async def test_a_job_for_a_delivery_this_database_lacks_is_an_error_and_touches_nothing(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    pk = await push_delivery(services)
    with caplog.at_level(logging.ERROR):
        assert (
            await process_delivery(services, pk + 1000) == f"foreign: no delivery {pk + 1000} here"
        )
    assert "SHIPYARD_QUEUE_NAME" in caplog.text
    assert (await row(services, pk)).status == "queued"


async def test_one_job_processes_a_batch_each_on_its_own(services: Services) -> None:
    handlers = Handlers()
    good = await push_delivery(services, "d-good")
    bad = await push_delivery(services, "d-bad", body=b"not json")
    result = await process_deliveries(with_router(services, handlers), 1, good, bad)
    assert result == f"{good}: processed, {bad}: failed"
    assert [(await row(services, pk)).status for pk in (good, bad)] == ["processed", "failed"]
