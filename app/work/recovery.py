"""Putting work the queue lost (or never got) back on it: at start-up, and in sweeps.

Each feature registers its own finder (`Services.recovery`, listed in `app.features`): the
intake's for deliveries, the pipelines' for stalled steps and runs; deployment tasks add theirs.
"""

from __future__ import annotations

import asyncio
import logging

from app.services import Services
from jobqueue.base import QueueUnavailable

__all__ = ["recover_on_start", "sweep", "sweep_forever"]

log = logging.getLogger(__name__)


async def recover_on_start(services: Services) -> None:
    """At start-up: everything unfinished goes back on the queue (the queue may have lost it)."""
    await _recover(services, at_start=True)


async def sweep(services: Services) -> None:
    """Work stored while the queue was down, and work whose worker stopped beating."""
    await _recover(services, at_start=False)


async def _recover(services: Services, *, at_start: bool) -> None:
    for finder in services.recovery:
        try:
            await finder(services, at_start)
        except QueueUnavailable as error:
            log.warning("queue unavailable; recovery waits for the next sweep: %s", error)


async def sweep_forever(services: Services) -> None:
    """Every SHIPYARD_REQUEUE_INTERVAL seconds, sweep (the web process)."""
    interval = services.settings.requeue_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await sweep(services)
        except Exception:
            log.exception("sweep failed; trying again in %.0f s", interval)
