"""Processing stored deliveries, in their own job: normalise each into an Event and hand it to
the features' handlers (the router) in the same job.

A delivery is finished only when its handlers are: its outcome is recorded in the same UPDATE
that marks it `processed`. Whatever a handler raises is caught here, at the job boundary: the
delivery goes back to `queued` and runs again after a backoff (only the handlers that did not
finish), and after its last try it is `failed` with the error, masked. A payload that cannot be
normalised fails at once: trying again would read the same bytes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

from app.db.models.base import utcnow
from app.db.models.deliveries import Delivery, DeliveryStatus
from app.intake import store
from app.intake.queueing import enqueue_delivery
from app.logs import delivery_context
from app.routing.router import Routed
from app.services import Services
from app.work.foreign import foreign_job
from jobqueue.base import QueueUnavailable
from providers.errors import ProviderError
from providers.events import Event, EventKind
from providers.normalise import PayloadShapeError, normalise
from providers.webhooks import WEBHOOKS, BadPayload, UnsupportedMediaType, parse_body

__all__ = ["CONCURRENCY", "process_deliveries", "process_delivery", "retry_delay"]

log = logging.getLogger(__name__)

CONCURRENCY = 8  # deliveries of one batch processed at once
MAX_RETRY_DELAY = 300.0


async def process_deliveries(services: Services, attempt: int, *delivery_pks: int) -> str:
    """The job: each delivery of a batch (one queue hop for all of them), independently."""
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(pk: int) -> str:
        async with slots:
            return await process_delivery(services, pk)

    results = await asyncio.gather(*(one(pk) for pk in delivery_pks))
    return ", ".join(f"{pk}: {result}" for pk, result in zip(delivery_pks, results, strict=True))


async def process_delivery(services: Services, delivery_pk: int) -> str:
    """Claim one delivery and process it; whatever goes wrong is its own, never the batch's."""
    lease = timedelta(seconds=services.settings.delivery_lease_seconds)
    token = delivery_context.set(None)
    try:
        claimed = await store.claim(services.sessions, delivery_pk, lease=lease)
        if isinstance(claimed, store.NotClaimed):
            return _not_claimed(delivery_pk, claimed)
        delivery_context.set(claimed.delivery_id)  # on every log line of this delivery
        progress = store.Progress.of(claimed)
        try:
            return await _process(services, claimed, progress)
        except Exception as error:
            return await _try_again_or_fail(services, claimed, progress, error)
    except Exception:
        # The database failed around the claim or the record: the row is still unfinished,
        # and the sweep hands it back to the queue once its lease is over.
        log.exception("delivery %s: could not record its processing", delivery_pk)
        return "left for the sweep"
    finally:
        delivery_context.reset(token)


def _not_claimed(delivery_pk: int, not_claimed: store.NotClaimed) -> str:
    if not_claimed.status is None:
        return foreign_job("delivery", delivery_pk)
    return f"not claimed: {not_claimed.status}"


async def _process(services: Services, delivery: Delivery, progress: store.Progress) -> str:
    sessions = services.sessions
    assert delivery.id is not None
    log.info("processing %s delivery (try %d)", delivery.provider, delivery.attempts)
    if progress.normalised is None:
        try:
            event = _normalise(delivery)
        except (BadPayload, UnsupportedMediaType, PayloadShapeError) as error:
            log.warning("delivery could not be normalised: %s", error)
            await store.finish(
                sessions, delivery.id, DeliveryStatus.FAILED, progress, error=str(error)
            )
            return "failed"
        progress.kind = event.kind
        progress.normalised = json.loads(event.model_dump_json())
    else:
        event = Event.model_validate(progress.normalised)
    ignored = ignored_because(services, delivery.signed, event)
    if ignored is not None:
        log.info("delivery not acted on: %s", ignored)
        progress.outcome = {"note": ignored}
    if ignored is not None or event.kind is EventKind.OTHER:
        await store.finish(sessions, delivery.id, DeliveryStatus.IGNORED, progress)
        return str(DeliveryStatus.IGNORED)

    async def handled(key: str, outcome: dict[str, object], last: bool) -> None:
        progress.handled.append(key)
        progress.outcome = dict(outcome)
        if not last:  # the last is recorded with `processed`, in one UPDATE
            await store.record(sessions, delivery.id or 0, progress)

    last_try = delivery.attempts >= services.settings.delivery_max_tries
    await services.router.dispatch(
        services,
        Routed(event, delivery.id, last_try=last_try),
        done=progress.handled,
        outcome=progress.outcome,
        on_handled=handled,
    )
    await store.finish(sessions, delivery.id, DeliveryStatus.PROCESSED, progress)
    return str(DeliveryStatus.PROCESSED)


def _normalise(delivery: Delivery) -> Event:
    payload = parse_body(WEBHOOKS[delivery.provider], delivery.headers, delivery.body)
    return normalise(delivery.provider, delivery.event, payload, delivery_id=delivery.delivery_id)


def ignored_because(services: Services, signed: bool, event: Event) -> str | None:
    """Why a delivery is stored and normalised but acts on nothing, if it is one of those."""
    if not signed:
        return "unsigned: accepted without a webhook secret, so it acts on nothing"
    repository = event.repository.full_name if event.repository else None
    if repository and not services.allowlist.allows(event.provider, repository):
        return f"{event.provider}:{repository} is not in SHIPYARD_REPO_ALLOWLIST"
    return None


def retry_delay(base: float, tries: int) -> float:
    """Seconds before the next try, after `tries` tries: `base`, doubled each time, capped."""
    return min(MAX_RETRY_DELAY, base * 2.0 ** max(0, tries - 1))


async def _try_again_or_fail(
    services: Services, delivery: Delivery, progress: store.Progress, error: Exception
) -> str:
    """A handler raised: try the delivery again later while tries are left and the error may
    pass (a host error that says it will not is final); else it failed, saying why."""
    assert delivery.id is not None
    settings = services.settings
    message = services.mask(_describe(error))
    final = isinstance(error, ProviderError) and not error.retryable
    if final or delivery.attempts >= settings.delivery_max_tries:
        log.warning("delivery failed after %d tries: %s", delivery.attempts, message)
        await store.finish(
            services.sessions, delivery.id, DeliveryStatus.FAILED, progress, error=message
        )
        return "failed"
    delay = retry_delay(settings.delivery_retry_seconds, delivery.attempts)
    log.info("delivery try %d failed, again in %.0f s: %s", delivery.attempts, delay, message)
    at = utcnow() + timedelta(seconds=delay)
    if not await store.try_again(services.sessions, delivery.id, progress, error=message, at=at):
        return "not ours any more"
    try:
        await enqueue_delivery(services.queue, delivery.id, defer=delay)
    except QueueUnavailable as unavailable:
        log.warning("queue unavailable; the sweep will retry the delivery: %s", unavailable)
        await store.mark_received(services.sessions, delivery.id)
    return "retrying"


def _describe(error: Exception) -> str:
    if isinstance(error, ProviderError):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}"
