"""The gates a deploy from a pull request passes, on GitHub, end to end: CI still running on the
head makes the deploy wait (and it runs once CI has passed and the sweep looks again); CI that
failed refuses it, and so does a head behind its base where the environment is
`outdated: strict`; an environment's `approvals:` holds it for someone else's `/approve` (the
requester's own is refused); a freeze window refuses it, but for an admin's `--force` (of the
repository on GitHub, or in SHIPYARD_ADMINS), which the job records."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.chatops.runners import RUNNERS
from app.chatops.waiting import advance_waiting_deploys
from app.db.models.deployments import JobState
from app.deployments.jobs import approvals_of
from tests.support.chatops import (
    chatops_settings,
    deploy_script,
    migrated_sqlite,
    ran_lines,
    shipyard,
)
from tests.support.chatops_hosts import ChatopsHost, chatops_host, head_of
from tests.support.deploy_hosts import job_page, progress_body
from tests.support.deploying import command_target, register

GITHUB = "github"
CONFIG = """
environments:
  staging: {targets: [web-staging]}
  production:
    targets: [web-production]
    approvals: 1
  strict:
    targets: [web-strict]
    outdated: strict
  frozen:
    targets: [web-frozen]
    freeze: [{days: [mon-sun], from: "00:00", to: "24:00", reason: release week}]
"""
ROLES = {"alice": "write", "bob": "write", "sam": "write", "ada": "admin"}
ADMINS = "github:sam"  # SHIPYARD_ADMINS: sam writes, and is one of Shipyard's admins
PULL = 7


@pytest.fixture
async def sqlite(tmp_path: Path) -> str:
    return await migrated_sqlite(tmp_path)


def live_comment(host: ChatopsHost, number: int, environment: str) -> str:
    [found] = [
        body
        for body in host.by_shipyard(number)
        if body.startswith(f"<!-- shipyard:deploy-{environment} -->")
    ]
    return found


async def test_pending_ci_makes_the_deploy_wait_and_it_runs_once_ci_passed(
    sqlite: str, tmp_path: Path
) -> None:
    head = head_of(PULL)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        host.report(head, "ci/build", "pending")
        host.report(head, "ci/lint", "success")
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-staging", command_target(deploy_script(tmp_path)))
            comment = await app.command(PULL, "alice", "/deploy staging")
            [waiting] = await app.jobs()
            waited = live_comment(host, PULL, "staging")
            assert await advance_waiting_deploys(app.services, False) == 0  # still pending
            host.report(head, "ci/build", "success")
            assert await advance_waiting_deploys(app.services, False) == 1
            await app.settle()
            [job] = await app.jobs()
    assert waiting.state == JobState.AWAITING_CHECKS
    assert host.reactions_on(comment) == ["eyes", "rocket"]
    assert host.replies(PULL) == [
        f"Deploying **{head[:12]}** to **staging**: it waits for the commit's CI — "
        f"[deployment {job.id}]({job_page(job.id or 0)})\n\n"
        "CI is pending: ci/build: the deploy waits for it."
    ]
    assert "· **awaiting checks**\n\nWaiting: the commit's CI to finish" in waited
    assert ran_lines(tmp_path) == [f"web-staging {head}"]
    assert job.state == JobState.COMPLETED
    rows = [("deploy", "web-staging", "succeeded")]
    words = f"deploy {head[:12]} to staging"
    assert live_comment(host, PULL, "staging") == progress_body(
        job.id or 0, words, "completed", rows
    )


async def test_failed_ci_refuses_the_deploy(sqlite: str) -> None:
    head = head_of(PULL)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        host.report(head, "ci/build", "failure")
        host.report(head, "ci/lint", "pending")
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            comment = await app.command(PULL, "alice", "/deploy staging")
            assert await app.jobs() == []
    assert host.reactions_on(comment) == ["eyes", "-1"]
    assert host.replies(PULL) == [
        "Refused by the **ci** gate: CI failed: ci/build (failure); pending: ci/lint "
        "(fix the failing checks, then ask again)"
    ]


async def test_a_pull_request_behind_its_base_is_refused_where_the_environment_is_strict(
    sqlite: str,
) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        host.behind = 2
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            comment = await app.command(PULL, "alice", "/deploy strict")
            assert await app.jobs() == []
    assert host.reactions_on(comment) == ["eyes", "-1"]
    assert host.replies(PULL) == [
        "Refused by the **outdated** gate: #7 is 2 commits behind main; strict deploys only "
        "up-to-date code (merge or rebase main into it)"
    ]


async def test_a_deploy_waits_for_someone_elses_approval(sqlite: str, tmp_path: Path) -> None:
    head = head_of(PULL)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-production", command_target(deploy_script(tmp_path)))
            deploy = await app.command(PULL, "alice", "/deploy production")
            [waiting] = await app.jobs()
            waited = live_comment(host, PULL, "production")
            own = await app.command(PULL, "alice", "/approve")
            [still] = await app.jobs()
            other = await app.command(PULL, "bob", "/approve")
            [job] = await app.jobs()
            approvals = await approvals_of(app.services.sessions, job.id or 0)
    assert (waiting.state, waiting.approvals_required) == (JobState.AWAITING_APPROVAL, 1)
    assert "Waiting: approval (1 needed): /approve" in waited
    assert still.state == JobState.AWAITING_APPROVAL
    assert [host.reactions_on(c) for c in (deploy, own, other)] == [
        ["eyes", "rocket"],
        ["eyes", "-1"],
        ["eyes", "rocket"],
    ]
    page = f"[deployment {job.id}]({job_page(job.id or 0)})"
    assert host.replies(PULL) == [
        f"Deploying **{head[:12]}** to **production**: it waits for 1 approval(s): /approve "
        f"by someone else — {page}",
        "Refused by the **approvals** gate: github:alice asked for this deployment and may not "
        "approve it too (someone else with the role approves it)",
        f"Approved by @bob: deployment {job.id} to production is queued.",
    ]
    assert [(a.host, a.login) for a in approvals] == [("github", "bob")]
    assert job.state == JobState.COMPLETED
    assert ran_lines(tmp_path) == [f"web-production {head}"]


async def test_a_deploy_waiting_for_approval_is_rejected_by_someone_who_may_approve(
    sqlite: str, tmp_path: Path
) -> None:
    roles = {**ROLES, "rita": "read"}
    with chatops_host(GITHUB, CONFIG, roles=roles) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-production", command_target(deploy_script(tmp_path)))
            await app.command(PULL, "alice", "/deploy production")
            reader = await app.command(PULL, "rita", "/reject production no")
            rejected = await app.command(PULL, "bob", "/reject production too risky today")
            [job] = await app.jobs()
    assert host.reactions_on(reader) == ["eyes", "-1"]
    assert host.reactions_on(rejected) == ["eyes", "+1"]
    assert job.state == JobState.CANCELLED
    assert job.error == "rejected by github:bob: too risky today"
    assert host.replies(PULL)[-1] == (
        f"Deployment {job.id} to production is rejected by github:bob: too risky today."
    )
    assert ran_lines(tmp_path) == []


async def test_a_freeze_refuses_deploys_and_a_writers_force(sqlite: str, tmp_path: Path) -> None:
    settings = chatops_settings(sqlite, GITHUB, SHIPYARD_ADMINS=ADMINS)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(settings, host) as app:
            await register(app.services, "web-frozen", command_target(deploy_script(tmp_path)))
            plain = await app.command(PULL, "bob", "/deploy frozen")
            forced = await app.command(PULL, "bob", "/deploy frozen --force")
            assert await app.jobs() == []
    assert [host.reactions_on(c) for c in (plain, forced)] == [["eyes", "-1"], ["eyes", "-1"]]
    assert ran_lines(tmp_path) == []
    not_forced, not_an_admin = host.replies(PULL)
    assert not_forced.startswith("Refused by the **freeze** gate: frozen is frozen")
    assert "every day all day UTC: release week" in not_forced
    assert "an admin deploys with --force" in not_forced
    assert not_an_admin.startswith("Refused by the **freeze** gate: frozen is frozen (")
    assert "--force needs an admin" in not_an_admin
    assert "SHIPYARD_ADMINS" in not_an_admin


async def test_an_admins_force_passes_a_freeze_and_is_recorded(sqlite: str, tmp_path: Path) -> None:
    settings = chatops_settings(sqlite, GITHUB, SHIPYARD_ADMINS=ADMINS)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(settings, host) as app:
            await register(app.services, "web-frozen", command_target(deploy_script(tmp_path)))
            by_host_admin = await app.command(PULL, "ada", "/deploy frozen --force")
            by_shipyard_admin = await app.command(8, "sam", "/deploy frozen --force")
            jobs = await app.jobs()
    assert [host.reactions_on(c) for c in (by_host_admin, by_shipyard_admin)] == [
        ["eyes", "rocket"],
        ["eyes", "rocket"],
    ]
    assert [(job.requested_by, job.state) for job in jobs] == [
        ("github:ada", JobState.COMPLETED),
        ("github:sam", JobState.COMPLETED),
    ]
    # The job records who forced it through the freeze.
    forced = [[g["result"] for g in job.spec["gates"] if g["gate"] == "freeze"] for job in jobs]
    assert [len(results) for results in forced] == [1, 1]
    assert forced[0][0].startswith("forced by github:ada")
    assert forced[1][0].startswith("forced by github:sam")
    assert ran_lines(tmp_path) == [f"web-frozen {head_of(PULL)}", f"web-frozen {head_of(8)}"]


async def test_a_command_that_fails_midway_is_answered_once_and_not_acted_on_again(
    sqlite: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure Shipyard did not foresee is answered (-1, saying part may be done) and the
    delivery ends there: retrying it could deploy twice."""
    calls: list[str] = []

    async def broken(_ctx: object) -> object:
        calls.append("ran")
        raise RuntimeError("disk full")

    monkeypatch.setitem(RUNNERS, "deploy", broken)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            comment = await app.command(PULL, "alice", "/deploy staging")
            await app.settle()
    assert calls == ["ran"]
    assert host.reactions_on(comment) == ["eyes", "-1"]
    [reply] = host.replies(PULL)
    assert "part of it may have been done" in reply
