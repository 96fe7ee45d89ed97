"""The health monitor: each integration's checks as durable scheduled work.

A row of `integration_checks` per (integration, level) says when that check is next due. Every
sweep (`schedule_due_checks`, in `app.features.RECOVERY`, run by every worker and by the web
process on the in-process queue) claims the checks that are due — one UPDATE per level that
moves `due_at` one interval on, so of two workers sweeping at once only one gets a check — and
queues a `check_integration` job for each, which checks that level through the hub (not through
an open breaker) and stores the result. The schedule is in the database: a restart loses none.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import exists, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.db.engine import SessionFactory
from app.db.inserts import insert_new
from app.db.models.base import utcnow
from app.db.models.integrations import IntegrationCheck, IntegrationRow
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CHECK_LEVELS, CheckLevel
from app.services import Services
from app.settings import Settings
from app.work.job_ids import job_id
from jobqueue.base import QueueUnavailable

__all__ = [
    "CHECK_INTEGRATION",
    "check_integration",
    "check_intervals",
    "claim_due_checks",
    "schedule_checks",
    "schedule_due_checks",
]

log = logging.getLogger(__name__)

CHECK_INTEGRATION = "check_integration"

_TABLE = IntegrationCheck.__table__  # type: ignore[attr-defined]
_NEW_CHECK = insert_new(_TABLE, _TABLE.c.id)

Due = tuple[int, CheckLevel]
"""A claimed check: (integration id, level)."""


def check_intervals(settings: Settings) -> dict[CheckLevel, timedelta]:
    """How often each level is checked (SHIPYARD_CHECK_*_EVERY)."""
    return {
        "connectivity": timedelta(seconds=settings.check_connectivity_seconds),
        "authentication": timedelta(seconds=settings.check_authentication_seconds),
        "functionality": timedelta(seconds=settings.check_functionality_seconds),
    }


async def schedule_checks(
    sessions: SessionFactory, integration_id: int, *, at: datetime | None = None
) -> None:
    """The integration's checks, each due `at` (now): what registering one does. Checks it
    has already are left as they are."""
    due = at or utcnow()
    rows = [
        {"integration_id": integration_id, "level": level, "due_at": due} for level in CHECK_LEVELS
    ]
    async with sessions() as session:
        connection = await session.connection()
        try:
            for row in rows:
                await connection.execute(_NEW_CHECK[connection.dialect.name], row)
        except IntegrityError:  # the integration was removed meanwhile
            await session.rollback()
            return
        await session.commit()


async def _unscheduled(sessions: SessionFactory) -> list[int]:
    """Integrations with no check scheduled (registered by something that did not schedule)."""
    scheduled = exists().where(col(IntegrationCheck.integration_id) == col(IntegrationRow.id))
    async with sessions() as session:
        found = await session.exec(select(IntegrationRow.id).where(~scheduled))
        return [pk for pk in found.all() if pk is not None]


async def claim_due_checks(
    sessions: SessionFactory,
    intervals: Mapping[CheckLevel, timedelta],
    *,
    now: datetime | None = None,
) -> list[Due]:
    """Take every check due by `now`, moving each one interval on in the same statement: a
    check another sweep took a moment before is no longer due, so it is not taken twice."""
    now = now or utcnow()
    claimed: list[Due] = []
    async with sessions() as session:
        for level in CHECK_LEVELS:
            statement = (
                update(IntegrationCheck)
                .execution_options(synchronize_session=False)
                .where(col(IntegrationCheck.level) == level, col(IntegrationCheck.due_at) <= now)
                .values(due_at=now + intervals[level])
                .returning(col(IntegrationCheck.integration_id))
            )
            result = await session.exec(statement)
            claimed += [(integration_id, level) for integration_id in result.scalars().all()]
        await session.commit()
    return sorted(claimed)


async def _due_again(sessions: SessionFactory, checks: Sequence[Due], at: datetime) -> None:
    """Checks claimed but not queued (the queue is down): due again at the next sweep."""
    async with sessions() as session:
        for integration_id, level in checks:
            await session.exec(
                update(IntegrationCheck)
                .execution_options(synchronize_session=False)
                .where(
                    col(IntegrationCheck.integration_id) == integration_id,
                    col(IntegrationCheck.level) == level,
                )
                .values(due_at=at)
            )
        await session.commit()


async def schedule_due_checks(services: Services, _at_start: bool) -> int:
    """Every sweep: queue a check job for each check that is due. How many were queued."""
    sessions = services.sessions
    now = utcnow()
    for integration_id in await _unscheduled(sessions):
        await schedule_checks(sessions, integration_id, at=now)
    due = await claim_due_checks(sessions, check_intervals(services.settings), now=now)
    for queued, (integration_id, level) in enumerate(due):
        try:
            await services.queue.enqueue(
                CHECK_INTEGRATION,
                integration_id,
                level,
                job_id=job_id("integration-check", integration_id, level),
            )
        except QueueUnavailable as error:
            log.warning("queue unavailable; %d health checks wait: %s", len(due) - queued, error)
            await _due_again(sessions, due[queued:], now)
            return queued
    return len(due)


async def check_integration(
    services: Services, _attempt: int, integration_id: int, level: str
) -> None:
    """The queue job: check one level of one integration and store the result. Not through
    an open breaker (that is recorded as the check's failure); nothing for an integration
    removed meanwhile, or a level that is not one."""
    if level not in CHECK_LEVELS:
        log.warning("integration %s: no check level %r", integration_id, level)
        return
    try:
        report = await services.integrations.test(integration_id, (level,), force=False)
    except IntegrationError as error:
        if error.code == "INTEGRATION_NOT_FOUND":
            return
        raise
    if not report.ok:
        failed = report.results[0]
        log.info("integration %s: %s check failed: %s", report.integration.name, level, failed.code)
