"""Job functions. Each takes the job context first and ids after, never state."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry

from app import deliveries
from app.logs import delivery_context
from app.models import DeliveryStatus
from app.pipelines import engine
from app.pipelines.routing import ROUTABLE, route_delivery
from jobqueue.context import JobContext
from providers.errors import ProviderError
from providers.events import EventKind
from providers.normalise import PayloadShapeError, normalise
from providers.webhooks import WEBHOOKS, BadPayload, UnsupportedMediaType, parse_body

log = logging.getLogger(__name__)

Job = Callable[..., Awaitable[Any]]


async def process_delivery(ctx: JobContext, delivery_pk: int) -> str:
    """Normalise a stored delivery into an Event and record it with its kind."""
    sessions = ctx["sessions"]
    delivery = await deliveries.claim(sessions, delivery_pk)
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
        await deliveries.finish(
            sessions, delivery_pk, status=DeliveryStatus.FAILED, error=str(error)
        )
        log.warning("delivery could not be normalised: %s", error)
        return "failed"
    except Exception as error:
        await deliveries.finish(
            sessions,
            delivery_pk,
            status=DeliveryStatus.FAILED,
            error=f"unexpected {type(error).__name__}: {error}",
        )
        log.exception("delivery processing failed")
        return "failed"
    status = DeliveryStatus.IGNORED if event.kind is EventKind.OTHER else DeliveryStatus.PROCESSED
    await deliveries.finish(
        sessions,
        delivery_pk,
        status=status,
        kind=event.kind,
        normalised=json.loads(event.model_dump_json()),
    )
    if event.kind in ROUTABLE:
        await _route_now_or_later(ctx, delivery_pk)
    return str(status)


async def _route_now_or_later(ctx: JobContext, delivery_pk: int) -> None:
    """Route in this job (no second queue hop before the pending status), or, if the host
    does not answer, as a job of its own that retries."""
    try:
        await route_delivery(ctx, delivery_pk)
    except (Retry, ProviderError) as error:
        log.info("routing delivery %s later: %s", delivery_pk, error)
        await ctx["queue"].enqueue(
            "route_delivery", delivery_pk, job_id=f"route:{delivery_pk}", defer=5.0
        )


JOBS: dict[str, Job] = {
    "process_delivery": process_delivery,
    "route_delivery": route_delivery,
    "start_run": engine.start_run,
    "run_step": engine.run_step,
}
