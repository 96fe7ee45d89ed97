"""Webhook intake: verify, dedupe, store, enqueue, answer. Nothing slow happens here."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app import metrics
from app.db.engine import SessionFactory
from app.db.models.deliveries import DeliveryStatus
from app.intake import registry, store
from app.intake.queueing import Retried, retry_delivery
from app.intake.writer import BatchWriter, NotStored, Written
from app.logs import delivery_context
from app.settings import Settings
from jobqueue.base import JobQueue
from providers.webhooks import (
    WEBHOOKS,
    BadPayload,
    BadSignature,
    UnsupportedMediaType,
    WebhookSpec,
    delivery_action,
    parse_body,
)

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5  # a batch that could not be stored: redeliver after this


class _TooLarge(Exception):
    pass


class _Intake(Protocol):
    """The part of the process's Services the intake uses: it stays this light, so a web
    request loads neither the engine, the steps nor the host clients."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sessions(self) -> SessionFactory: ...
    @property
    def queue(self) -> JobQueue: ...


def writer_of(request: Request) -> BatchWriter:
    """The process's intake writer (`open_writer`, in the application's lifespan)."""
    writer: BatchWriter = request.app.state.intake_writer
    return writer


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (before reading it whole) one larger than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _check_signature(
    spec: WebhookSpec, settings: Settings, headers: dict[str, str], body: bytes
) -> bool:
    """True when the delivery proved it came from the host; False when it was let in
    unsigned (SHIPYARD_ALLOW_UNSIGNED_WEBHOOKS); BadSignature otherwise."""
    secret = settings.webhook_secret(spec.provider)
    if secret is None:
        if settings.allow_unsigned_webhooks:
            return False
        raise BadSignature(
            f"{spec.display_name} deliveries are refused: no webhook secret is configured. "
            f"Set {spec.key_setting} (or SHIPYARD_ALLOW_UNSIGNED_WEBHOOKS=true for local "
            "experiments)."
        )
    spec.verify(headers, body, secret)
    return True


async def receive_webhook(request: Request) -> JSONResponse:
    if request.path_params["provider"] == registry.PROVIDER:
        return await receive_registry(request)
    spec = WEBHOOKS.get(request.path_params["provider"])
    if spec is None:
        return _error(404, f"unknown provider; use one of: {', '.join(WEBHOOKS)}")
    services: _Intake = request.app.state.services
    settings = services.settings
    try:
        body = await _read_body(request, settings.max_webhook_body_bytes)
    except _TooLarge:
        return _error(413, f"body is larger than {settings.max_webhook_body_bytes} bytes")
    except ClientDisconnect:
        return _error(400, "client disconnected before the body was complete")
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        signed = _check_signature(spec, settings, headers, body)
    except BadSignature as error:
        return _error(401, str(error))

    event = spec.event_name(headers)
    if event is None:
        return _error(400, f"missing {spec.display_name} event header ({spec.event_headers[0]})")
    try:
        payload = parse_body(spec, headers, body)
    except BadPayload as error:
        return _error(400, str(error))
    except UnsupportedMediaType as error:
        return _error(415, str(error))

    digest = hashlib.sha256(body).hexdigest()
    delivery_id = spec.delivery_id(headers) or f"sha256-{digest}"
    delivery_context.set(delivery_id)
    is_ping = event in spec.ping_events
    row = store.new_row(
        provider=spec.provider,
        delivery_id=delivery_id[:200],
        event=event[:100],
        action=delivery_action(payload),
        headers=spec.stored_headers(headers),
        body=body,
        body_sha256=digest,
        signed=signed,
        # Stored as queued, then its batch is enqueued: one write on the hot path. If the
        # process dies in between, start-up recovery enqueues every unfinished delivery.
        status=DeliveryStatus.IGNORED if is_ping else DeliveryStatus.QUEUED,
    )
    try:
        written = await writer_of(request).write(row)
    except NotStored:
        return _error(
            503,
            "the delivery could not be stored; please redeliver it",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    stored = written.stored
    answer = {"delivery_id": delivery_id, "provider": spec.provider, "event": event}
    if stored.duplicate:
        if not (stored.status == DeliveryStatus.FAILED and await _redeliver(services, stored.id)):
            log.info("duplicate delivery acknowledged")
            return _accepted(answer, "duplicate", 200, duplicate=True)
        return _accepted(answer, "queued", 202)
    if is_ping:
        return _accepted(answer, "pong", 200)
    return _accepted(answer, "queued" if written.queued else "stored", 202)


def _accepted(answer: dict[str, str], status: str, code: int, **more: object) -> JSONResponse:
    metrics.delivery_received(answer["provider"], answer["event"], status)
    return JSONResponse({**answer, "status": status, **more}, status_code=code)


async def receive_registry(request: Request) -> JSONResponse:
    """A container registry's notification: each event of its envelope is a delivery of its
    own (app.intake.registry). 202 with their ids; 200 when every one was stored before."""
    services: _Intake = request.app.state.services
    settings = services.settings
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        registry.check_token(settings, headers)
    except BadSignature as error:
        return _error(401, str(error))
    try:
        body = await _read_body(request, settings.max_webhook_body_bytes)
        events = registry.events_of(headers, body)
    except _TooLarge:
        return _error(413, f"body is larger than {settings.max_webhook_body_bytes} bytes")
    except ClientDisconnect:
        return _error(400, "client disconnected before the body was complete")
    except BadPayload as error:
        return _error(400, str(error))
    except UnsupportedMediaType as error:
        return _error(415, str(error))
    rows = registry.rows_of(events, headers)
    writer = writer_of(request)
    written = await asyncio.gather(*(writer.write(row) for row in rows), return_exceptions=True)
    if any(isinstance(each, NotStored) for each in written):
        return _error(
            503,
            "the events could not all be stored; please send them again",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    deliveries = []
    for event, each in zip(events, written, strict=True):
        if isinstance(each, BaseException):
            raise each
        deliveries.append(
            {"delivery_id": event.delivery_id, "status": await _status(services, each)}
        )
        metrics.delivery_received(registry.PROVIDER, event.action, deliveries[-1]["status"])
    fresh = any(each["status"] != "duplicate" for each in deliveries)
    answer = {"provider": registry.PROVIDER, "deliveries": deliveries}
    return JSONResponse(answer, status_code=202 if fresh else 200)


async def _status(services: _Intake, written: Written) -> str:
    """queued, stored (the queue was down: the sweep enqueues it) or duplicate; a copy of a
    delivery that failed is processed again."""
    stored = written.stored
    if stored.duplicate:
        retried = stored.status == DeliveryStatus.FAILED and await _redeliver(services, stored.id)
        return "queued" if retried else "duplicate"
    return "queued" if written.queued else "stored"


async def _redeliver(services: _Intake, delivery_pk: int) -> bool:
    """A copy of a delivery that failed is a redelivery: process it again (the host's
    "Redeliver"). False if it could not be taken back (then it is answered as a duplicate)."""
    try:
        retried = await retry_delivery(services.sessions, services.queue, delivery_pk)
    except (SQLAlchemyError, OSError):
        log.exception("could not take a failed delivery back; answered as a duplicate")
        return False
    return retried is not Retried.NOT_FAILED


routes = [Route("/webhooks/{provider}", receive_webhook, methods=["POST"])]


class WebhooksFirst:
    """Around the application (`app.main`): `POST /webhooks/<provider>` goes straight to
    `receive_webhook`, past every middleware and the router (the hot path; `routes` names the
    same endpoint, which serves it where this is not in front). Anything the endpoint raises is
    a logged 500, as the application's own handler would answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        provider = path[len(_PREFIX) :] if path.startswith(_PREFIX) else ""
        if not provider or "/" in provider or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"provider": provider}
        started = time.perf_counter()
        try:
            response = await receive_webhook(Request(scope, receive))
        except Exception as error:
            log.error("unhandled error: %s", type(error).__name__, exc_info=error)
            response = _error(500, "internal error; it has been logged")
        if provider in WEBHOOKS or provider == registry.PROVIDER:
            metrics.intake_answered(provider, response.status_code, started)
        await response(scope, receive, send)


_PREFIX = "/webhooks/"
