"""`confirm: true`, end to end on GitHub: a deploy shows its plan and waits for its requester's
`/confirm` (nobody else's); a confirmation after the pull request's head moved, or after
`confirm_timeout`, ends the deploy instead."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from app.chatops.waiting import advance_waiting_deploys
from app.db.models.base import utcnow
from app.db.models.deployments import DeploymentJob, JobState
from tests.support.chatops import (
    chatops_settings,
    deploy_script,
    migrated_sqlite,
    ran_lines,
    shipyard,
)
from tests.support.chatops_hosts import chatops_host, head_of
from tests.support.deploying import command_target, register

GITHUB = "github"
CONFIG = """
environments:
  production:
    targets: [web-production]
    confirm: true
    confirm_timeout: 10m
"""
ROLES = {"alice": "write", "bob": "write"}
PULL = 7


@pytest.fixture
async def sqlite(tmp_path: Path) -> str:
    return await migrated_sqlite(tmp_path)


async def test_the_requester_confirms_the_plan_and_only_then_it_deploys(
    sqlite: str, tmp_path: Path
) -> None:
    head = head_of(PULL)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-production", command_target(deploy_script(tmp_path)))
            deploy = await app.command(PULL, "alice", "/deploy production")
            [waiting] = await app.jobs()
            other = await app.command(PULL, "bob", "/confirm")
            [still] = await app.jobs()
            confirmed = await app.command(PULL, "alice", "/confirm")
            await app.settle()
            [job] = await app.jobs()
    assert (waiting.state, still.state, job.state) == (
        JobState.AWAITING_CONFIRMATION,
        JobState.AWAITING_CONFIRMATION,
        JobState.COMPLETED,
    )
    assert [host.reactions_on(c) for c in (deploy, other, confirmed)] == [
        ["eyes", "rocket"],
        ["eyes", "-1"],
        ["eyes", "rocket"],
    ]
    plan, refused, done = host.replies(PULL)
    assert "it waits for @alice to comment /confirm (or /cancel)" in plan
    assert "**The plan**" in plan
    assert f"- release: {head[:12]} (commit {head[:12]})" in plan
    assert "- targets: web-production" in plan
    assert "- runs there now: nothing yet" in plan
    assert "only github:alice, who asked for it, confirms it" in refused
    assert done == f"Confirmed: deployment {job.id} to production is queued."
    assert ran_lines(tmp_path) == [f"web-production {head}"]


async def test_a_confirmation_after_the_head_moved_ends_the_deploy(
    sqlite: str, tmp_path: Path
) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-production", command_target(deploy_script(tmp_path)))
            await app.command(PULL, "alice", "/deploy production")
            host.pull(PULL, head="f" * 40)  # pushed to since (no delivery of it reached us)
            confirmed = await app.command(PULL, "alice", "/confirm")
            [job] = await app.jobs()
    assert host.reactions_on(confirmed) == ["eyes", "-1"]
    assert job.state == JobState.CANCELLED
    assert job.error == "the pull request's head moved since it was asked for"
    assert ran_lines(tmp_path) == []


async def test_a_deploy_not_confirmed_in_time_is_cancelled_by_the_sweep(
    sqlite: str, tmp_path: Path
) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-production", command_target(deploy_script(tmp_path)))
            await app.command(PULL, "alice", "/deploy production")
            assert await advance_waiting_deploys(app.services, False) == 0  # in time still
            async with app.services.sessions() as session:  # it has waited 11 minutes
                await session.exec(
                    update(DeploymentJob).values(updated_at=utcnow() - timedelta(minutes=11))
                )
                await session.commit()
            assert await advance_waiting_deploys(app.services, False) == 1
            late = await app.command(PULL, "alice", "/confirm")
            [job] = await app.jobs()
    assert job.state == JobState.CANCELLED
    assert job.error == "not confirmed within 600 s"
    assert host.reactions_on(late) == ["eyes", "-1"]
    assert ran_lines(tmp_path) == []
