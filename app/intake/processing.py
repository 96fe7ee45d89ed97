"""Processing a stored delivery, in its own job: normalise it into an Event, record it, and hand
the event to the features' handlers (the router) in the same job.

The delivery's outcome (what each feature made of it) is recorded once the handlers are done,
or once their failure is final: a host that does not answer is tried again (a `route_delivery`
job of its own, then arq's retries) before the delivery says routing failed.
"""

from __future__ import annotations

import json
import logging

from arq import Retry

from app.db.models.deliveries import DeliveryStatus
from app.intake import store
from app.intake.queueing import ROUTE_DELIVERY
from app.logs import delivery_context
from app.routing.router import Routed
from app.services import Services
from providers.errors import ProviderError
from providers.events import Event, EventKind
from providers.normalise import PayloadShapeError, normalise
from providers.webhooks import WEBHOOKS, BadPayload, UnsupportedMediaType, parse_body

__all__ = ["MAX_TRIES", "process_delivery", "route_delivery"]

log = logging.getLogger(__name__)

MAX_TRIES = 5  # a host that keeps failing is given up on, and the delivery says why
ROUTE_LATER_SECONDS = 5.0


async def process_delivery(services: Services, attempt: int, delivery_pk: int) -> str:
    """The job: normalise a stored delivery, record it with its kind, and route it."""
    sessions = services.sessions
    delivery = await store.claim(sessions, delivery_pk)
    if delivery is None:
        return "skipped: already processed or being processed"
    delivery_context.set(delivery.delivery_id)  # on every log line of this job
    log.info("processing %s delivery", delivery.provider)
    try:
        payload = parse_body(WEBHOOKS[delivery.provider], delivery.headers, delivery.body)
        event = normalise(
            delivery.provider, delivery.event, payload, delivery_id=delivery.delivery_id
        )
    except (BadPayload, UnsupportedMediaType, PayloadShapeError) as error:
        await store.finish(sessions, delivery_pk, status=DeliveryStatus.FAILED, error=str(error))
        log.warning("delivery could not be normalised: %s", error)
        return "failed"
    except Exception as error:
        message = services.mask(f"unexpected {type(error).__name__}: {error}")
        await store.finish(sessions, delivery_pk, status=DeliveryStatus.FAILED, error=message)
        log.exception("delivery processing failed")
        return "failed"
    ignored = ignored_because(services, delivery.signed, event)
    other = event.kind is EventKind.OTHER or ignored is not None
    status = DeliveryStatus.IGNORED if other else DeliveryStatus.PROCESSED
    await store.finish(
        sessions,
        delivery_pk,
        status=status,
        kind=event.kind,
        normalised=json.loads(event.model_dump_json()),
    )
    if ignored is not None:
        log.info("delivery not acted on: %s", ignored)
        await store.set_outcome(sessions, delivery_pk, {"note": ignored})
    elif services.router.wants(event):
        await _route_now_or_later(services, event, delivery_pk)
    return str(status)


def ignored_because(services: Services, signed: bool, event: Event) -> str | None:
    """Why a delivery is stored and normalised but acts on nothing, if it is one of those."""
    if not signed:
        return "unsigned: accepted without a webhook secret, so it acts on nothing"
    repository = event.repository.full_name if event.repository else None
    if repository and not services.allowlist.allows(event.provider, repository):
        return f"{event.provider}:{repository} is not in SHIPYARD_REPO_ALLOWLIST"
    return None


async def _route_now_or_later(services: Services, event: Event, delivery_pk: int) -> None:
    """Route in this job (no second queue hop before the pending status), or, if the host
    does not answer, as a job of its own that retries."""
    try:
        await _route(services, event, delivery_pk, attempt=1)
    except Retry as error:
        log.info("routing delivery %s later: %s", delivery_pk, error)
        await services.queue.enqueue(
            ROUTE_DELIVERY, delivery_pk, job_id=f"route:{delivery_pk}", defer=ROUTE_LATER_SECONDS
        )


async def route_delivery(services: Services, attempt: int, delivery_pk: int) -> str:
    """The job: route a processed delivery whose first routing could not finish."""
    delivery = await store.get(services.sessions, delivery_pk)
    if delivery is None or delivery.normalised is None or delivery.outcome is not None:
        return "nothing to route"
    event = Event.model_validate(delivery.normalised)
    if not services.router.wants(event):
        return "not routable"
    delivery_context.set(delivery.delivery_id)
    outcome = await _route(services, event, delivery_pk, attempt=attempt)
    return f"routed: {', '.join(outcome) or 'nothing'}"


async def _route(
    services: Services, event: Event, delivery_pk: int, *, attempt: int
) -> dict[str, object]:
    """Dispatch, then record the outcome. A retryable host error is tried again while tries
    are left (Retry); after that, or for any other host error, the failure is the outcome."""
    routed = Routed(event, delivery_pk, last_try=attempt >= MAX_TRIES)
    try:
        outcome: dict[str, object] = await services.router.dispatch(services, routed)
    except ProviderError as error:
        if error.retryable and not routed.last_try:
            raise Retry(defer=5 * attempt) from error
        log.warning("routing failed: %s", error)
        outcome = {"error": services.mask(str(error))}
    await store.set_outcome(services.sessions, delivery_pk, outcome)
    return outcome
