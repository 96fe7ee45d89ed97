"""`GET /metrics`: Shipyard's metrics (`app.metrics`) in Prometheus' text format, with what is
read when scraped (queue depth, integrations' health) and, with several processes, every
process's numbers added up (prometheus-client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`).

It is protected like the API: a service account's bearer token holding `metrics:read` —
unless the server is open on loopback (`app.auth.rules.open_without_sign_in`: bound to
loopback, known by a loopback URL, no proxy header) and the request brings no token. A token
that is sent is always checked: a wrong one is 401, whatever the address.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.accounts import Permission
from app.api.v1.auth import caller_of, services_of
from app.api.v1.errors import ApiError
from app.auth.rules import open_without_sign_in
from app.db.models.integrations import IntegrationRow
from app.integrations.kinds import HEALTH_STATES
from app.metrics import REGISTRY, multiprocess_dir
from app.services import Services
from app.settings import Settings
from jobqueue.base import QueueUnavailable

__all__ = ["METRICS_READ", "metrics_endpoint", "routes"]

log = logging.getLogger(__name__)

METRICS_READ = Permission("metrics", "read")


@runtime_checkable
class _Measured(Protocol):
    """A queue that can say how many jobs it holds, per queue name."""

    async def depth(self) -> Mapping[str, int]: ...


def _open_on_loopback(request: Request, settings: Settings) -> bool:
    return "authorization" not in request.headers and open_without_sign_in(
        settings.host, settings.public_url, request.headers.keys()
    )


async def metrics_endpoint(request: Request) -> Response:
    services = services_of(request)
    if not _open_on_loopback(request, services.settings):
        try:
            await caller_of(request, METRICS_READ)
        except ApiError as refused:
            return refused.response()
    families = [await _queue_depth(services), *await _integration_health(services)]
    body = generate_latest(_Exposition(_own(services.settings), families))
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)


def _own(settings: Settings) -> Collector:
    """This process's metrics, or (multiprocess mode) every process's, added up."""
    directory = multiprocess_dir(settings)
    if directory is None:
        return REGISTRY
    directory.mkdir(parents=True, exist_ok=True)
    return MultiProcessCollector(None, path=str(directory))  # type: ignore[no-untyped-call]


class _Exposition:
    """What one scrape serves: the processes' metrics, then those read for it."""

    def __init__(self, own: Collector, scraped: Iterable[Metric]) -> None:
        self._own, self._scraped = own, scraped

    def collect(self) -> Iterable[Metric]:
        yield from self._own.collect()
        yield from self._scraped


async def _queue_depth(services: Services) -> Metric:
    family = GaugeMetricFamily(
        "shipyard_queue_depth",
        "Jobs on each queue (waiting, deferred or running), when scraped.",
        labels=["queue"],
    )
    if isinstance(services.queue, _Measured):
        try:
            for name, count in (await services.queue.depth()).items():
                family.add_metric([name], float(count))
        except QueueUnavailable as error:
            log.info("queue depth not known: %s", error)
    return family


async def _integration_health(services: Services) -> list[Metric]:
    family = GaugeMetricFamily(
        "shipyard_integration_health",
        "1 for an integration's health as last checked, 0 for the other states.",
        labels=["integration", "state"],
    )
    try:
        async with services.sessions() as session:
            rows = list(await session.exec(select(IntegrationRow.name, IntegrationRow.health)))
    except (SQLAlchemyError, OSError) as error:
        log.warning("integrations' health not read for /metrics: %s", type(error).__name__)
        return []
    for name, health in rows:
        for state in HEALTH_STATES:
            family.add_metric([name, state], 1.0 if state == health else 0.0)
    return [family]


routes = [Route("/metrics", metrics_endpoint, methods=["GET"])]
