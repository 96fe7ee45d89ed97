"""Environment locks on SQLite and PostgreSQL: taken by one of many at once, refreshed by their
holder, released by them or forced open by an admin (and recorded so), replaced once expired;
a global lock blocks every environment; a closed pull request's sticky locks let go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.models.locks import DeploymentLock
from app.environments.locks import (
    EXPIRED,
    LockRefused,
    Taken,
    active_locks,
    blocking_lock,
    describe_lock,
    get_lock,
    release_lock,
    release_pr_locks,
    take_lock,
)
from app.settings import Settings

NOW = datetime(2026, 12, 7, 20, 10, tzinfo=UTC)
DAY = 86400.0
ALICE, BOB, CAROL = "github:alice", "github:bob", "github:carol"


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings)
    yield session_factory(engine)
    await engine.dispose()


async def take(
    sessions: SessionFactory,
    holder: str,
    environment: str | None = "production",
    *,
    reason: str | None = "db migration",
    pr: int | None = 12,
    ttl: float = DAY,
    sticky: bool = True,
    now: datetime = NOW,
    repository: str = "acme/web",
) -> Taken:
    return await take_lock(
        sessions,
        provider="github",
        repository=repository,
        environment=environment,
        holder=holder,
        reason=reason,
        pr_number=pr,
        ttl_seconds=ttl,
        sticky=sticky,
        now=now,
    )


async def release(
    sessions: SessionFactory,
    by: str,
    environment: str | None = "production",
    *,
    now: datetime = NOW,
    **how: bool,
) -> DeploymentLock:
    return await release_lock(
        sessions,
        provider="github",
        repository="acme/web",
        environment=environment,
        by=by,
        now=now,
        **how,
    )


async def test_take_refresh_and_release(sessions: SessionFactory) -> None:
    taken = await take(sessions, ALICE)
    assert taken.won
    lock = taken.lock
    assert (lock.provider, lock.repository, lock.environment) == (
        "github",
        "acme/web",
        "production",
    )
    assert (lock.holder, lock.reason, lock.pr_number, lock.sticky) == (
        ALICE,
        "db migration",
        12,
        True,
    )
    assert (lock.created_at, lock.expires_at) == (NOW, NOW + timedelta(days=1))
    assert lock.slot == "github:acme/web:production"
    assert describe_lock(lock, NOW + timedelta(minutes=1)) == (
        "production is locked by github:alice since 2026-12-07 20:10 UTC until 2026-12-08 "
        "20:10 UTC (23 h 59 min left): db migration (#12)"
    )

    later = NOW + timedelta(hours=1)
    again = await take(sessions, "github:Alice", reason="still migrating", pr=None, ttl=2 * DAY,
                       now=later)  # fmt: skip
    assert again.won
    assert again.lock.id == lock.id
    assert (again.lock.holder, again.lock.reason, again.lock.pr_number) == (
        ALICE,
        "still migrating",
        12,  # no PR given: the lock's stays
    )
    assert again.lock.expires_at == later + timedelta(days=2)

    other = await take(sessions, BOB, reason="hotfix", now=later)
    assert not other.won
    assert (other.lock.id, other.lock.holder, other.lock.reason) == (
        lock.id,
        ALICE,
        "still migrating",
    )

    with pytest.raises(LockRefused) as refused:
        await release(sessions, BOB, now=later)
    assert str(refused.value) == (
        "production is locked by github:alice, not by github:bob: only github:alice may unlock "
        "it, or an admin with --force"
    )
    released = await release(sessions, ALICE, now=later)
    assert (released.id, released.slot, released.released_by, released.forced) == (
        lock.id,
        None,
        ALICE,
        False,
    )
    assert released.released_at == later
    assert await active_locks(sessions, now=later) == []
    with pytest.raises(LockRefused) as gone:
        await release(sessions, ALICE, now=later)
    assert str(gone.value) == "production is not locked"
    stored = await get_lock(sessions, lock.id or 0)
    assert stored is not None
    assert (stored.released_by, stored.released_at) == (ALICE, later)


async def test_at_once_exactly_one_takes_it_and_the_others_are_told_who(
    sessions: SessionFactory,
) -> None:
    holders = [f"github:person{n}" for n in range(6)]
    for round_ in range(5):
        environment = f"env-{round_}"
        results = await asyncio.gather(*(take(sessions, h, environment) for h in holders))
        winners = [taken for taken in results if taken.won]
        assert len(winners) == 1, [(t.won, t.lock.holder) for t in results]
        [winner] = winners
        for taken in results:
            assert (taken.lock.id, taken.lock.holder) == (winner.lock.id, winner.lock.holder)
        held = await active_locks(sessions, "github", "acme/web", now=NOW)
        assert [lock.environment for lock in held] == [f"env-{n}" for n in range(round_ + 1)]


async def test_an_expired_lock_no_longer_blocks_and_is_replaced(sessions: SessionFactory) -> None:
    first = await take(sessions, ALICE, ttl=60)
    assert first.won
    during, after = NOW + timedelta(seconds=30), NOW + timedelta(seconds=60)
    blocking = await blocking_lock(sessions, "github", "acme/web", "production", BOB, now=during)
    assert blocking is not None
    assert blocking.id == first.lock.id
    assert await blocking_lock(sessions, "github", "acme/web", "production", BOB, now=after) is None
    assert await active_locks(sessions, now=after) == []

    second = await take(sessions, BOB, reason="hotfix", now=after)
    assert second.won
    assert second.lock.id != first.lock.id
    old = await get_lock(sessions, first.lock.id or 0)
    assert old is not None
    assert (old.slot, old.released_by, old.released_at, old.forced) == (None, EXPIRED, after, False)
    assert [lock.id for lock in await active_locks(sessions, now=after)] == [second.lock.id]


async def test_an_admin_forces_a_lock_open_and_it_is_recorded(sessions: SessionFactory) -> None:
    taken = await take(sessions, ALICE)
    with pytest.raises(LockRefused) as refused:
        await release(sessions, BOB, force=True, admin=False)
    assert str(refused.value) == (
        "--force is for admins: production is locked by github:alice, and only they or an admin "
        "may unlock it"
    )
    still = await blocking_lock(sessions, "github", "acme/web", "production", BOB, now=NOW)
    assert still is not None
    assert still.id == taken.lock.id

    forced = await release(sessions, CAROL, force=True, admin=True)
    assert (forced.id, forced.released_by, forced.forced, forced.slot) == (
        taken.lock.id,
        CAROL,
        True,
        None,
    )
    assert await blocking_lock(sessions, "github", "acme/web", "production", BOB, now=NOW) is None


async def test_a_holder_s_own_release_is_not_forced(sessions: SessionFactory) -> None:
    await take(sessions, ALICE)
    released = await release(sessions, ALICE, force=True, admin=False)
    assert (released.released_by, released.forced) == (ALICE, False)


async def test_a_global_lock_blocks_every_environment(sessions: SessionFactory) -> None:
    everywhere = await take(sessions, ALICE, None, reason="freeze", pr=None)
    assert everywhere.won
    assert everywhere.lock.slot == "github:acme/web:*"
    assert describe_lock(everywhere.lock, NOW + timedelta(hours=3)) == (
        "every environment is locked by github:alice since 2026-12-07 20:10 UTC until "
        "2026-12-08 20:10 UTC (21 h left): freeze"
    )
    for environment in ("production", "staging", "anything"):
        blocking = await blocking_lock(sessions, "github", "acme/web", environment, BOB, now=NOW)
        assert blocking is not None, environment
        assert blocking.id == everywhere.lock.id
        assert await blocking_lock(sessions, "github", "acme/web", environment, ALICE) is None
    other_repository = await blocking_lock(sessions, "github", "acme/api", "production", BOB)
    assert other_repository is None

    staging = await take(sessions, BOB, "staging", reason="qa", pr=None)
    assert staging.won  # another slot: both are held
    mine = await blocking_lock(sessions, "github", "acme/web", "staging", ALICE, now=NOW)
    assert mine is not None
    assert mine.id == staging.lock.id
    theirs = await blocking_lock(sessions, "github", "acme/web", "staging", BOB, now=NOW)
    assert theirs is not None
    assert theirs.id == everywhere.lock.id
    held = await active_locks(sessions, "github", "acme/web", now=NOW)
    assert [(lock.environment, lock.holder) for lock in held] == [(None, ALICE), ("staging", BOB)]

    with pytest.raises(LockRefused) as refused:
        await release(sessions, BOB, None)
    assert "every environment is locked by github:alice" in str(refused.value)
    released = await release(sessions, ALICE, None)
    assert released.id == everywhere.lock.id
    assert await blocking_lock(sessions, "github", "acme/web", "production", BOB, now=NOW) is None
    with pytest.raises(LockRefused) as none:
        await release(sessions, ALICE, None)
    assert str(none.value) == "github:acme/web has no lock on every environment"


async def test_a_closed_pull_request_lets_go_of_its_sticky_locks(sessions: SessionFactory) -> None:
    staging = await take(sessions, ALICE, "staging", pr=12)
    await take(sessions, ALICE, "production", pr=12, sticky=False)
    await take(sessions, BOB, "qa", pr=13)
    await take(sessions, ALICE, "staging", pr=12, repository="acme/api")
    released = await release_pr_locks(sessions, "github", "acme/web", 12, "github:pr-closed", NOW)
    assert [lock.id for lock in released] == [staging.lock.id]
    assert (released[0].slot, released[0].released_by) == (None, "github:pr-closed")
    held = await active_locks(sessions, now=NOW)
    assert [(lock.repository, lock.environment) for lock in held] == [
        ("acme/api", "staging"),
        ("acme/web", "production"),
        ("acme/web", "qa"),
    ]
    assert await release_pr_locks(sessions, "github", "acme/web", 12, "again", NOW) == []


async def test_how_long_a_lock_has_left(sessions: SessionFactory) -> None:
    lock = (await take(sessions, ALICE, reason=None, pr=None, ttl=5 * DAY)).lock
    head = (
        "production is locked by github:alice since 2026-12-07 20:10 UTC until 2026-12-12 20:10 UTC"
    )
    for after, left in [
        (timedelta(0), "5 d left"),
        (timedelta(days=1, hours=2, minutes=30), "3 d 21 h left"),
        (timedelta(days=3, hours=1), "47 h left"),
        (timedelta(days=4, hours=1), "23 h left"),
        (timedelta(days=4, hours=23, minutes=48), "12 min left"),
        (timedelta(days=4, hours=23, minutes=59, seconds=30), "under a minute left"),
        (timedelta(days=5), "expired"),
    ]:
        assert describe_lock(lock, NOW + after) == f"{head} ({left})"
    with_pr = (await take(sessions, BOB, "staging", reason="  \n ", pr=7)).lock
    assert describe_lock(with_pr, NOW).endswith("(24 h left) (#7)")


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"ttl_seconds": 0.0}, "a lock lasts more than 0 seconds"),
        ({"ttl_seconds": float("inf")}, "a lock lasts more than 0 seconds"),
        ({"ttl_seconds": 400 * DAY}, "a lock lasts more than 0 seconds"),
        ({"environment": "*"}, "an environment's name is 1 to 100 characters"),
        ({"environment": "e" * 101}, "an environment's name is 1 to 100 characters"),
        ({"holder": ""}, "a lock's holder is a name"),
    ],
)
async def test_what_cannot_be_a_lock(
    sessions: SessionFactory, changes: dict[str, object], says: str
) -> None:
    values: dict[str, object] = {
        "provider": "github",
        "repository": "acme/web",
        "environment": "production",
        "holder": ALICE,
        "reason": None,
        "pr_number": None,
        "ttl_seconds": DAY,
    }
    with pytest.raises(ValueError, match=says):
        await take_lock(sessions, **{**values, **changes})  # type: ignore[arg-type]
    assert await active_locks(sessions) == []
