"""The releases' recovery: a release whose finishing job the queue lost is handed over again
(all unannounced ones at start-up; in a sweep, those overdue by a lease)."""

from __future__ import annotations

from datetime import timedelta

from app.db.models.base import utcnow
from app.releases import store
from app.releases.service import enqueue_finish
from app.services import Services

__all__ = ["recover_releases"]

OVERDUE_SECONDS = 60.0


async def recover_releases(services: Services, at_start: bool) -> int:
    overdue = max(services.settings.requeue_min_age_seconds, OVERDUE_SECONDS)
    due = None if at_start else utcnow() - timedelta(seconds=overdue)
    found = await store.unfinished_releases(services.sessions, due_before=due)
    for release_id in found:
        await enqueue_finish(services, release_id)
    return len(found)
