"""Locks and the deploy queue, driven from pull-request comments on GitHub, end to end: a
sticky `/lock` refuses everyone else's deploy, naming its holder and reason; two people locking
at once leave one holder and tell the other who; a lock that expired blocks nobody; `/unlock
--force` is for admins (of the repository on GitHub, or in SHIPYARD_ADMINS) and is recorded.
Closing a pull request releases the locks it took. A deploy to an environment another
deployment holds waits in its queue, its live comment saying where, and runs once those before
it have ended — unless its pull request gets a new push meanwhile: then it is dropped."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest

from app.db.models.base import utcnow
from app.db.models.deployments import JobState
from app.environments.locks import active_locks, get_lock, take_lock
from tests.support.chatops import (
    Shipyard,
    chatops_settings,
    deploy_script,
    migrated_sqlite,
    pull_request_event,
    ran_lines,
    release_hold,
    shipyard,
)
from tests.support.chatops_hosts import ChatopsHost, chatops_host, head_of, reaction_request
from tests.support.deploy_hosts import progress_body
from tests.support.deploying import REPOSITORY, command_target, register
from tests.support.releases import sha_of
from tests.support.waiting import eventually

GITHUB = "github"
CONFIG = """
environments:
  staging: {targets: [web-staging]}
  production: {targets: [web-production]}
"""
# alice, bob and sam write; ada is an admin of the repository on GitHub; sam is one of
# Shipyard's admins (SHIPYARD_ADMINS).
ROLES = {"alice": "write", "bob": "write", "sam": "write", "ada": "admin"}
ADMINS = "github:sam"
LOCKED_BY_ALICE = re.compile(
    r"production is locked by github:alice since \d{4}-\d\d-\d\d \d\d:\d\d UTC until "
    r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \([^)]+ left\): db migration \(#7\)"
)


@pytest.fixture
async def sqlite(tmp_path: Path) -> str:
    return await migrated_sqlite(tmp_path)


async def add_targets(app: Shipyard, directory: Path, *, hold: bool = False) -> None:
    script = command_target(deploy_script(directory, hold=hold))
    for name in ("web-staging", "web-production"):
        await register(app.services, name, script)


async def first_runs(app: Shipyard) -> None:
    """Wait until the first deployment runs (held by its command, it holds its environment)."""

    async def running() -> bool:
        jobs = await app.jobs()
        return bool(jobs) and jobs[0].state == JobState.RUNNING

    await eventually(running)


async def answered(host: ChatopsHost, *comments: int) -> None:
    """Wait until Shipyard has answered each of `comments` (`eyes`, then its verdict)."""

    def reacted_twice() -> bool:
        return all(len(host.reactions_on(comment)) == 2 for comment in comments)

    await eventually(reacted_twice)


async def test_a_lock_refuses_anyone_elses_deploy_naming_its_holder_and_reason(
    sqlite: str, tmp_path: Path
) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await add_targets(app, tmp_path)
            lock = await app.command(7, "alice", "/lock production --reason db migration")
            deploy = await app.command(8, "bob", "/deploy production")
            assert await app.jobs() == []
            [held] = await active_locks(app.services.sessions, GITHUB, REPOSITORY)
            own = await app.command(7, "alice", "/deploy production")  # not by its holder
            [job] = await app.jobs()
    assert (held.environment, held.holder, held.reason, held.pr_number) == (
        "production",
        "github:alice",
        "db migration",
        7,
    )
    assert held.sticky
    assert held.expires_at - held.created_at == timedelta(days=1)  # chatops.lock_ttl
    assert host.reactions_on(lock) == ["eyes", "+1"]
    assert host.reactions_on(deploy) == ["eyes", "-1"]
    [locked] = host.replies(7)[:1]
    [refused] = host.replies(8)
    assert LOCKED_BY_ALICE.fullmatch(locked.removeprefix("Locked: ")), locked
    assert refused.startswith("Refused by the **lock** gate: production is locked by github:alice")
    assert LOCKED_BY_ALICE.search(refused), refused
    assert refused.endswith(
        "(github:alice unlocks it with /unlock production; an admin may /unlock production --force)"
    )
    assert host.reactions_on(own) == ["eyes", "rocket"]
    assert (job.requested_by, job.environment, job.state) == (
        "github:alice",
        "production",
        JobState.COMPLETED,
    )
    assert ran_lines(tmp_path) == [f"web-production {head_of(7)}"]


async def test_two_people_locking_at_once_leave_one_holder_and_the_other_is_told_who(
    migrated: str,
) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(migrated, GITHUB), host) as app:
            (alices, _), (bobs, _) = await asyncio.gather(
                app.send(7, "alice", "/lock production --reason db migration"),
                app.send(8, "bob", "/lock production --reason hotfix"),
            )
            await app.settle()
            [held] = await active_locks(app.services.sessions, GITHUB, REPOSITORY)
    winner, loser = ("alice", "bob") if held.holder == "github:alice" else ("bob", "alice")
    comment = {"alice": alices, "bob": bobs}
    number = {"alice": 7, "bob": 8}
    assert held.holder == f"github:{winner}"
    assert host.reactions_on(comment[winner]) == ["eyes", "+1"]
    assert host.reactions_on(comment[loser]) == ["eyes", "-1"]
    [won] = host.replies(number[winner])
    [lost] = host.replies(number[loser])
    assert won.startswith(f"Locked: production is locked by github:{winner} since ")
    assert lost.startswith(f"Not locked: production is locked by github:{winner} since ")


async def test_an_expired_lock_no_longer_blocks_a_deploy(sqlite: str, tmp_path: Path) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await add_targets(app, tmp_path)
            taken = await take_lock(
                app.services.sessions,
                provider=GITHUB,
                repository=REPOSITORY,
                environment="production",
                holder="github:alice",
                reason="db migration",
                pr_number=7,
                ttl_seconds=3600,
                now=utcnow() - timedelta(hours=2),  # taken for an hour, two hours ago
            )
            assert taken.won
            deploy = await app.command(8, "bob", "/deploy production")
            [job] = await app.jobs()
    assert host.reactions_on(deploy) == ["eyes", "rocket"]
    assert (job.requested_by, job.state) == ("github:bob", JobState.COMPLETED)
    assert ran_lines(tmp_path) == [f"web-production {head_of(8)}"]


async def test_unlock_force_is_for_admins_and_recorded(sqlite: str) -> None:
    settings = chatops_settings(sqlite, GITHUB, SHIPYARD_ADMINS=ADMINS)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(settings, host) as app:
            await app.command(7, "alice", "/lock production --reason db migration")
            await app.command(7, "alice", "/lock staging --reason load test")
            plain = await app.command(8, "bob", "/unlock production")
            forced = await app.command(8, "bob", "/unlock production --force")
            [production, staging] = await active_locks(app.services.sessions, GITHUB)
            by_host_admin = await app.command(8, "ada", "/unlock production --force")
            by_shipyard_admin = await app.command(8, "sam", "/unlock staging --force")
            still = await active_locks(app.services.sessions, GITHUB)
            released = [
                await get_lock(app.services.sessions, lock.id or 0)
                for lock in (production, staging)
            ]
    assert [lock.environment for lock in (production, staging)] == ["production", "staging"]
    assert still == []
    assert [(lock.released_by, lock.forced) for lock in released if lock is not None] == [
        ("github:ada", True),
        ("github:sam", True),
    ]
    assert [host.reactions_on(c) for c in (plain, forced, by_host_admin, by_shipyard_admin)] == [
        ["eyes", "-1"],
        ["eyes", "-1"],
        ["eyes", "+1"],
        ["eyes", "+1"],
    ]
    assert host.replies(8) == [
        "production is locked by github:alice, not by github:bob: only github:alice may unlock "
        "it, or an admin with --force",
        "--force is for admins: production is locked by github:alice, and only they or an "
        "admin may unlock it",
        "Unlocked production (forced; it was github:alice's).",
        "Unlocked staging (forced; it was github:alice's).",
    ]
    assert reaction_request(GITHUB, 8, by_host_admin, "+1") in host.sent()


async def test_a_deploy_to_a_busy_environment_waits_in_its_queue_then_runs(
    sqlite: str, tmp_path: Path
) -> None:
    """#7's deploy holds staging (its command waits for the test); #8's and then #9's join
    the queue, their live comments saying their place; once #7's is done they run in turn."""
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await add_targets(app, tmp_path, hold=True)
            try:
                await app.send(7, "alice", "/deploy staging")
                await first_runs(app)
                second, _ = await app.send(8, "bob", "/deploy staging")
                await answered(host, second)
                third, _ = await app.send(9, "sam", "/deploy staging")
                await answered(host, third)
                waiting = await app.jobs()
            finally:
                release_hold(tmp_path)
            await app.settle()
            done = await app.jobs()
    assert [(job.pr_number, job.state) for job in waiting] == [
        (7, JobState.RUNNING),
        (8, JobState.QUEUED),
        (9, JobState.QUEUED),
    ]
    assert [host.reactions_on(c) for c in (second, third)] == [["eyes", "rocket"]] * 2
    assert [job.state for job in done] == [JobState.COMPLETED] * 3
    # First in, first out: each ran once the one before it had ended.
    assert ran_lines(tmp_path) == [f"web-staging {head_of(n)}" for n in (7, 8, 9)]
    # #8's live comment: first in line behind #7, then done.
    rows = [("deploy", "web-staging", "succeeded")]
    eighth = host.live_history(8, "staging")
    assert "· **queued**\n\nWaiting: queued at position 1" in eighth[0]
    assert eighth[-1] == progress_body(
        done[1].id or 0, f"deploy {head_of(8)[:12]} to staging", "completed", rows
    )
    # #9's: second in line, then first once #7's ended, then done.
    ninth = host.live_history(9, "staging")
    assert "· **queued**\n\nWaiting: queued at position 2" in ninth[0]
    assert any("Waiting: queued at position 1" in body for body in ninth[1:])
    assert ninth[-1] == progress_body(
        done[2].id or 0, f"deploy {head_of(9)[:12]} to staging", "completed", rows
    )


async def test_a_queued_deploy_is_dropped_when_its_pull_request_gets_a_new_push(
    sqlite: str, tmp_path: Path
) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await add_targets(app, tmp_path, hold=True)
            try:
                await app.send(7, "alice", "/deploy staging")
                await first_runs(app)
                second, _ = await app.send(8, "bob", "/deploy staging")
                await answered(host, second)
                host.pull(8, head=sha_of("pull-8, pushed again"))
                await app.post(*pull_request_event(host, 8, "synchronize"))

                async def second_dropped() -> bool:
                    return (await app.jobs())[1].state == JobState.CANCELLED

                await eventually(second_dropped)
            finally:
                release_hold(tmp_path)
            await app.settle()
            first, dropped = await app.jobs()
    assert first.state == JobState.COMPLETED
    new_head = sha_of("pull-8, pushed again")
    assert dropped.error == f"dropped: #8 got a new push ({new_head[:12]}); ask again"
    assert ran_lines(tmp_path) == [f"web-staging {head_of(7)}"]  # #8's never ran
    said = host.live_history(8, "staging")
    assert "Waiting: queued at position 1" in said[0]
    assert "· **cancelled**" in said[-1]
    assert f"> dropped: #8 got a new push ({new_head[:12]}); ask again" in said[-1]


async def test_closing_a_pull_request_releases_the_locks_it_took(sqlite: str) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await app.command(7, "alice", "/lock production --reason db migration")
            await app.command(8, "bob", "/lock staging")
            [production, _] = await active_locks(app.services.sessions, GITHUB)
            host.pull(7, state="closed")
            await app.deliver(*pull_request_event(host, 7, "closed"))
            [held] = await active_locks(app.services.sessions, GITHUB)
            released = await get_lock(app.services.sessions, production.id or 0)
    assert (held.environment, held.holder) == ("staging", "github:bob")
    assert released is not None
    assert (released.slot, released.released_by, released.forced) == (None, "#7 closed", False)


async def test_lock_info_says_who_holds_an_environment_a_global_lock_included(
    sqlite: str,
) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            free = await app.command(7, "bob", "/lock production --info")
            await app.command(7, "alice", "/lock --global --reason quarterly freeze")
            held = await app.command(7, "bob", "/lock production --info")
    assert [host.reactions_on(c) for c in (free, held)] == [["eyes", "+1"], ["eyes", "+1"]]
    replies = host.replies(7)
    assert replies[0] == "production is not locked."
    assert replies[-1].startswith("- every environment is locked by github:alice since ")
    assert replies[-1].endswith(": quarterly freeze (#7)")
