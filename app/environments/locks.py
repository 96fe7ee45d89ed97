"""Environment locks in the database: taken atomically, refreshed by their holder, released by
them (or forced open by an admin), and gone on their own when they expire.

A held lock names its slot — `provider:repository:environment`, `*` for a lock on every
environment of the repository — and the unique index on `slot` lets one lock at a time hold
it: taking a lock is one INSERT, whatever the number of processes trying at once, and the one
that loses reads who won. Releasing sets the slot back to NULL in the same UPDATE that records
who released it; the row stays as the record. A global lock and an environment's lock are
different slots (both may be held); `blocking_lock` is what the deploy gate asks, and sees both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.db.engine import SessionFactory
from app.db.models.base import as_utc, utcnow
from app.db.models.locks import DeploymentLock

__all__ = [
    "EVERY_ENVIRONMENT",
    "EXPIRED",
    "MAX_TTL_SECONDS",
    "LockRefused",
    "Taken",
    "active_locks",
    "blocking_lock",
    "describe_lock",
    "get_lock",
    "lock_slot",
    "release_lock",
    "release_pr_locks",
    "take_lock",
    "time_left",
]

EXPIRED = "expired"  # `released_by` of a lock that ran out before anyone released it
EVERY_ENVIRONMENT = "every environment"  # how a global lock's environment is said
MAX_TTL_SECONDS = 365 * 86400.0  # no lock lives forever, nor for more than a year
_ATTEMPTS = 5  # a slot freed and taken again between our INSERT and our read: look again


class LockRefused(Exception):
    """A lock may not be released by whoever asked; the message says why, for people."""


@dataclass(frozen=True)
class Taken:
    lock: DeploymentLock  # the lock now held: yours if won, else the holder's
    won: bool


def lock_slot(provider: str, repository: str, environment: str | None) -> str:
    """What `slot` holds while a lock has the environment (`*`: every environment)."""
    return f"{provider}:{repository}:{environment if environment is not None else '*'}"


def _now(now: datetime | None) -> datetime:
    return as_utc(now).astimezone(UTC) if now is not None else utcnow()


def _same(holder: str, other: str) -> bool:
    """Whether two holders are one (logins compare case-insensitively, as hosts do)."""
    return holder.casefold() == other.casefold()


def _aware(lock: DeploymentLock) -> DeploymentLock:
    """The lock with its times in UTC (SQLite hands them back without their zone)."""
    lock.created_at = as_utc(lock.created_at)
    lock.expires_at = as_utc(lock.expires_at)
    lock.released_at = as_utc(lock.released_at)
    return lock


def _what(environment: str | None) -> str:
    return environment if environment is not None else EVERY_ENVIRONMENT


def _check(provider: str, repository: str, environment: str | None, holder: str) -> None:
    if not provider or len(provider) > 16:
        raise ValueError(f"provider {provider!r} is not a host Shipyard knows")
    if not repository or len(repository) > 300:
        raise ValueError("a repository is owner/name, at most 300 characters")
    if environment is not None and (not 0 < len(environment) <= 100 or environment == "*"):
        raise ValueError("an environment's name is 1 to 100 characters, and not '*'")
    if not holder or len(holder) > 200:
        raise ValueError("a lock's holder is a name of 1 to 200 characters")


def _reason(text: str | None) -> str | None:
    cleaned = (text or "").replace("\x00", "").strip()
    return cleaned or None


async def _release_expired(sessions: SessionFactory, slot: str, now: datetime) -> None:
    async with sessions() as session:
        await session.exec(
            update(DeploymentLock)
            .execution_options(synchronize_session=False)
            .where(col(DeploymentLock.slot) == slot, col(DeploymentLock.expires_at) <= now)
            .values(slot=None, released_at=now, released_by=EXPIRED)
        )
        await session.commit()


async def _held(sessions: SessionFactory, slot: str, now: datetime) -> DeploymentLock | None:
    """The unexpired lock holding `slot`, if any."""
    async with sessions() as session:
        found = await session.exec(
            select(DeploymentLock).where(
                col(DeploymentLock.slot) == slot, col(DeploymentLock.expires_at) > now
            )
        )
        lock = found.first()
        return _aware(lock) if lock is not None else None


async def get_lock(sessions: SessionFactory, lock_id: int) -> DeploymentLock | None:
    async with sessions() as session:
        lock = await session.get(DeploymentLock, lock_id)
        return _aware(lock) if lock is not None else None


async def _refresh(
    sessions: SessionFactory,
    lock: DeploymentLock,
    *,
    reason: str | None,
    pr_number: int | None,
    sticky: bool,
    expires_at: datetime,
) -> DeploymentLock | None:
    """The holder's lock with a new expiry (and reason, PR, stickiness: the old reason and PR
    stay when none is given); None if it was released meanwhile."""
    values: dict[str, object] = {"expires_at": expires_at, "sticky": sticky}
    if reason is not None:
        values["reason"] = reason
    if pr_number is not None:
        values["pr_number"] = pr_number
    async with sessions() as session:
        result = await session.exec(
            update(DeploymentLock)
            .execution_options(synchronize_session=False)
            .where(col(DeploymentLock.id) == lock.id, col(DeploymentLock.slot) == lock.slot)
            .values(**values)
        )
        await session.commit()
    if result.rowcount != 1 or lock.id is None:
        return None
    return await get_lock(sessions, lock.id)


async def take_lock(
    sessions: SessionFactory,
    *,
    provider: str,
    repository: str,
    environment: str | None,
    holder: str,
    reason: str | None,
    pr_number: int | None,
    ttl_seconds: float,
    sticky: bool = True,
    now: datetime | None = None,
) -> Taken:
    """Lock `environment` of the repository (None: every environment of it) for `holder`, for
    `ttl_seconds`. An expired lock in the slot is released first; then one INSERT takes it.
    If someone else holds it: `won` False, with their lock. If `holder` holds it already, its
    expiry (and reason) is refreshed: `won` True. ValueError for a bad name or duration."""
    _check(provider, repository, environment, holder)
    if not math.isfinite(ttl_seconds) or not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(
            f"a lock lasts more than 0 seconds and at most {MAX_TTL_SECONDS / 86400:.0f} days"
        )
    moment = _now(now)
    slot = lock_slot(provider, repository, environment)
    expires_at = moment + timedelta(seconds=ttl_seconds)
    cleaned = _reason(reason)
    for _ in range(_ATTEMPTS):
        await _release_expired(sessions, slot, moment)
        lock = DeploymentLock(
            provider=provider,
            repository=repository,
            environment=environment,
            holder=holder,
            reason=cleaned,
            pr_number=pr_number,
            sticky=sticky,
            created_at=moment,
            expires_at=expires_at,
            slot=slot,
        )
        try:
            async with sessions() as session:
                session.add(lock)
                await session.commit()
            return Taken(_aware(lock), won=True)
        except IntegrityError:
            pass  # the slot is held: by whom?
        held = await _held(sessions, slot, moment)
        if held is None:
            continue  # released (or expired) since: try again
        if not _same(held.holder, holder):
            return Taken(held, won=False)
        refreshed = await _refresh(
            sessions,
            held,
            reason=cleaned,
            pr_number=pr_number,
            sticky=sticky,
            expires_at=expires_at,
        )
        if refreshed is not None:
            return Taken(refreshed, won=True)
    raise RuntimeError(f"the lock on {slot} changed hands {_ATTEMPTS} times; try again")


async def release_lock(
    sessions: SessionFactory,
    *,
    provider: str,
    repository: str,
    environment: str | None,
    by: str,
    force: bool = False,
    admin: bool = False,
    now: datetime | None = None,
    lock_id: int | None = None,
) -> DeploymentLock:
    """Release the lock on `environment` (None: the global lock) and return it, released.
    Only its holder may, or an admin with `force` (recorded: `forced`, `released_by`).
    With `lock_id`, only that lock (not one taken in its place since). LockRefused when it
    is not held, is someone else's without `force`, or `force` comes from no admin."""
    if environment is not None and (not 0 < len(environment) <= 100 or environment == "*"):
        raise LockRefused(f"there is no environment {environment[:100]!r} to unlock")
    moment = _now(now)
    slot = lock_slot(provider, repository, environment)
    await _release_expired(sessions, slot, moment)
    held = await _held(sessions, slot, moment)
    if held is None or (lock_id is not None and held.id != lock_id):
        if environment is None:
            raise LockRefused(f"{provider}:{repository} has no lock on {EVERY_ENVIRONMENT}")
        raise LockRefused(f"{environment} is not locked")
    what = _what(environment)
    forced = not _same(held.holder, by)
    if forced and not force:
        raise LockRefused(
            f"{what} is locked by {held.holder}, not by {by}: only {held.holder} may unlock "
            "it, or an admin with --force"
        )
    if forced and not admin:
        raise LockRefused(
            f"--force is for admins: {what} is locked by {held.holder}, and only they or an "
            "admin may unlock it"
        )
    async with sessions() as session:
        result = await session.exec(
            update(DeploymentLock)
            .execution_options(synchronize_session=False)
            .where(col(DeploymentLock.id) == held.id, col(DeploymentLock.slot) == slot)
            .values(slot=None, released_at=moment, released_by=by[:200], forced=forced)
        )
        await session.commit()
    released = await get_lock(sessions, held.id or 0)
    if result.rowcount != 1 or released is None:
        raise LockRefused(f"{what} is not locked (it was released just now)")
    return released


async def blocking_lock(
    sessions: SessionFactory,
    provider: str,
    repository: str,
    environment: str | None,
    holder: str,
    now: datetime | None = None,
) -> DeploymentLock | None:
    """The unexpired lock someone other than `holder` has on `environment` or on every
    environment of the repository (the environment's own first), if any. `environment`
    None asks about the whole repository: any lock in it blocks."""
    moment = _now(now)
    query = select(DeploymentLock).where(
        DeploymentLock.provider == provider,
        DeploymentLock.repository == repository,
        col(DeploymentLock.slot).is_not(None),
        col(DeploymentLock.expires_at) > moment,
    )
    if environment is not None:
        slots = (
            lock_slot(provider, repository, environment),
            lock_slot(provider, repository, None),
        )
        query = query.where(col(DeploymentLock.slot).in_(slots))
    async with sessions() as session:
        found = list(await session.exec(query))
    others = [lock for lock in found if not _same(lock.holder, holder)]
    others.sort(key=lambda lock: (lock.environment is None, lock.id or 0))
    return _aware(others[0]) if others else None


def _in_order(locks: Sequence[DeploymentLock]) -> list[DeploymentLock]:
    """By repository; a repository's global lock before its environments' (by name)."""
    return sorted(
        (_aware(lock) for lock in locks),
        key=lambda lock: (
            lock.provider,
            lock.repository,
            lock.environment is not None,
            lock.environment or "",
        ),
    )


async def active_locks(
    sessions: SessionFactory,
    provider: str | None = None,
    repository: str | None = None,
    now: datetime | None = None,
) -> list[DeploymentLock]:
    """The locks held and not expired (of `provider`, of `repository` on any host or on
    `provider`'s), by repository and environment."""
    query = select(DeploymentLock).where(
        col(DeploymentLock.slot).is_not(None), col(DeploymentLock.expires_at) > _now(now)
    )
    if provider is not None:
        query = query.where(DeploymentLock.provider == provider)
    if repository is not None:
        query = query.where(DeploymentLock.repository == repository)
    async with sessions() as session:
        return _in_order(list(await session.exec(query)))


async def release_pr_locks(
    sessions: SessionFactory,
    provider: str,
    repository: str,
    pr_number: int,
    by: str,
    now: datetime | None = None,
) -> list[DeploymentLock]:
    """Release the sticky locks pull request `pr_number` took and still holds (it was closed
    or merged), recorded as released by `by`; the locks released, in order. A non-sticky
    lock is let go when the deployment it was taken for ends, not here."""
    moment = _now(now)
    async with sessions() as session:
        found = await session.exec(
            select(DeploymentLock)
            .where(
                DeploymentLock.provider == provider,
                DeploymentLock.repository == repository,
                DeploymentLock.pr_number == pr_number,
                col(DeploymentLock.sticky).is_(True),
                col(DeploymentLock.slot).is_not(None),
                col(DeploymentLock.expires_at) > moment,
            )
            .with_for_update()
        )
        released = list(found)
        for lock in released:
            lock.slot, lock.released_at, lock.released_by = None, moment, by[:200]
            session.add(lock)
        await session.commit()
    return _in_order(released)


def _left(seconds: float) -> str:
    """`23 h 59 min`, `12 min`, `3 d 4 h`, `under a minute`."""
    if seconds < 60:
        return "under a minute"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def time_left(lock: DeploymentLock, now: datetime) -> str:
    """How long the lock still holds, in words (`expired` once it has run out)."""
    seconds = (as_utc(lock.expires_at) - _now(now)).total_seconds()
    return f"{_left(seconds)} left" if seconds > 0 else "expired"


def _minute(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def describe_lock(lock: DeploymentLock, now: datetime) -> str:
    """`production is locked by github:alice since 2026-12-07 20:10 UTC until 2026-12-08
    20:10 UTC (23 h 59 min left): db migration (#12)` — `every environment` for a global
    lock; the reason and the pull request when there are."""
    words = (
        f"{_what(lock.environment)} is locked by {lock.holder} since {_minute(lock.created_at)} "
        f"until {_minute(lock.expires_at)} ({time_left(lock, now)})"
    )
    reason = " ".join((lock.reason or "").split())
    pr = f"(#{lock.pr_number})" if lock.pr_number is not None else ""
    if reason:
        return f"{words}: {reason}" + (f" {pr}" if pr else "")
    return f"{words} {pr}" if pr else words
