"""ChatOps on GitHub, end to end: an `issue_comment` delivery (GitHub's own payload), signed,
through the intake; the comment re-read and its author's role asked of GitHub's API; the
reactions (`POST /repos/{owner}/{repo}/issues/comments/{id}/reactions {"content"}`), the
reply (an issue comment) and the live comment (posted, then edited) as GitHub's API takes
them; a release of the pull request's head, and a deployment whose command target really ran.
A reader is refused with the role the command needs, a fork's pull request is refused (but
for `/help` and `/wcid`), and Shipyard's own comments and edited comments are passed over
without a word. The repository's `chatops.permissions` decide who may deploy where, roll
back, promote and approve; `/noop` runs no executor; `/help` lists the environments; a
misspelt command gets a "did you mean"."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db.models.deployments import JobState
from app.db.models.releases import ReleaseState
from tests.support.chatops import (
    EDITED,
    chatops_settings,
    deploy_script,
    migrated_sqlite,
    ran_lines,
    shipyard,
)
from tests.support.chatops_hosts import BOT, FakePull, chatops_host, head_of, writes
from tests.support.deploy_hosts import Sent, job_page, on_repo, progress_body
from tests.support.deploying import command_target, register
from tests.support.host_reports import github_edited_comment, github_new_comment
from tests.support.release_hosts import FakeRegistry
from tests.support.releases import digest_of

GITHUB = "github"
CONFIG = """
chatops: {default_environment: staging}
environments:
  staging: {targets: [web-staging]}
  production: {targets: [web-production]}
"""
ROLES = {"alice": "write", "rita": "read"}
PULL = 7
ALICE = "github:alice"  # who asks, as Shipyard records a person
LIVE = "<!-- shipyard:deploy-staging -->"  # the environment's live comment


@pytest.fixture
async def sqlite(tmp_path: Path) -> str:
    return await migrated_sqlite(tmp_path)


def reaction(comment_id: int, content: str) -> Sent:
    """POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions {"content"}."""
    return on_repo(GITHUB, "POST", f"/issues/comments/{comment_id}/reactions", {"content": content})


async def test_a_writers_deploy_reacts_releases_deploys_replies_and_ends_its_live_comment(
    migrated: str, tmp_path: Path
) -> None:
    settings = chatops_settings(migrated, GITHUB)
    head = head_of(PULL)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(settings, host) as app:
            await register(app.services, "web-staging", command_target(deploy_script(tmp_path)))
            comment = await app.command(PULL, "alice", "/deploy staging")
            [release] = await app.releases()
            [job] = await app.jobs()
    sent = host.sent()
    assert host.unexpected == []
    # The release pins the pull request's head; the deployment ran it on the target.
    assert (release.commit_sha, release.name, release.created_by) == (head, head[:12], ALICE)
    assert (job.release_id, job.environment, job.pr_number) == (release.id, "staging", PULL)
    assert (job.requested_by, job.via, job.state) == (ALICE, "chatops", JobState.COMPLETED)
    assert ran_lines(tmp_path) == [f"web-staging {head}"]
    # On the command: `eyes` before Shipyard writes anything else, then `rocket`, then the reply.
    eyes, rocket = reaction(comment, "eyes"), reaction(comment, "rocket")
    reply = github_new_comment(
        PULL,
        f"Deploying **{head[:12]}** to **staging**: queued — "
        f"[deployment {job.id}]({job_page(job.id or 0)})",
    )
    assert writes(sent)[0] == eyes
    assert [call for call in sent if call.path.endswith("/reactions")] == [eyes, rocket]
    assert sent.index(eyes) < sent.index(rocket) < sent.index(reply)
    assert host.reactions_on(comment) == ["eyes", "rocket"]
    # One live comment for the environment, posted once and edited until the deployment is
    # done; the reply beside it.
    words = f"deploy {head[:12]} to staging"
    rows = [("deploy", "web-staging", "succeeded")]
    completed = progress_body(job.id or 0, words, "completed", rows)
    [live] = [c for c in host.comments_on(PULL) if c["body"].startswith(LIVE)]
    posted = [call for call in sent if call.method == "POST" and call.path.endswith("/comments")]
    assert [call.body["body"].startswith(LIVE) for call in posted] == [True, False]
    assert posted[1] == reply
    assert [call for call in sent if call.method == "PATCH"][-1] == github_edited_comment(
        live["id"], completed
    )
    assert live["body"] == completed
    assert sorted(host.by_shipyard(PULL)) == sorted([completed, reply.body["body"]])


async def test_a_reader_is_refused_with_the_role_the_command_needs(sqlite: str) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            comment = await app.command(PULL, "rita", "/deploy staging")
            assert await app.jobs() == []
            assert await app.releases() == []
    refused = "@rita needs write on the repository for /deploy staging, and has read"
    assert writes(host.sent()) == [
        reaction(comment, "eyes"),
        reaction(comment, "-1"),
        github_new_comment(PULL, refused),
    ]
    assert host.unexpected == []


async def test_a_forks_pull_request_is_refused(sqlite: str) -> None:
    pulls = {8: FakePull(8, fork=True)}
    with chatops_host(GITHUB, CONFIG, roles=ROLES, pulls=pulls) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            comment = await app.command(8, "alice", "/deploy staging")
            assert await app.jobs() == []
            since = len(host.calls)
            told = [await app.command(8, "alice", body) for body in ("/help", "/wcid")]
            locked = await app.command(8, "alice", "/lock staging")
    refused = "#8 comes from a fork: on a fork's pull request Shipyard answers only /help and /wcid"
    assert writes(host.sent())[:3] == [
        reaction(comment, "eyes"),
        reaction(comment, "-1"),
        github_new_comment(8, refused),
    ]
    # Only /help and /wcid are answered there.
    assert [host.reactions_on(c) for c in told] == [["eyes", "+1"], ["eyes", "+1"]]
    assert host.reactions_on(locked) == ["eyes", "-1"]
    assert writes(host.sent(since))[-1] == github_new_comment(8, refused)


async def test_shipyards_own_comment_is_ignored_without_a_reaction(sqlite: str) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            _, delivery = await app.send(PULL, BOT, "/deploy staging")
            await app.settle()
            outcome = await app.outcome(delivery)
            assert await app.jobs() == []
    assert outcome is not None
    assert outcome["chatops"] == {"ignored": "Shipyard's own comment"}
    assert writes(host.sent()) == []
    assert host.reactions == []


async def test_an_edited_comment_is_ignored(sqlite: str) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            comment, delivery = await app.send(
                PULL, "alice", "/deploy staging", action=EDITED[GITHUB]
            )
            await app.settle()
            outcome = await app.outcome(delivery)
            assert await app.jobs() == []
    assert "chatops" not in (outcome or {})
    # Only the repository's config is read (by the pipelines, for their comment triggers):
    # the comment is not even read back, and nothing is written.
    assert {call.path for call in host.sent()} <= {"/repos/acme/web/contents/.shipyard.yml"}
    assert host.reactions_on(comment) == []


# --- who may do what, and the commands that only tell ----------------------------------------

ROLES_CONFIG = """
chatops:
  permissions:
    "deploy:production": maintain
    rollback: maintain
    promote: maintain
    approve: maintain
environments:
  staging: {targets: [web-staging]}
  production: {targets: [web-production], approvals: 1}
"""


async def test_the_permissions_map_decides_who_may_deploy_where_roll_back_promote_approve(
    sqlite: str, tmp_path: Path
) -> None:
    roles = {"alice": "write", "mo": "maintain"}
    with chatops_host(GITHUB, ROLES_CONFIG, roles=roles) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            for name in ("web-staging", "web-production"):
                await register(app.services, name, command_target(deploy_script(tmp_path)))
            staging = await app.command(PULL, "alice", "/deploy staging")
            refused = [
                await app.command(PULL, "alice", body)
                for body in (
                    "/deploy production",
                    "/rollback staging",
                    "/promote staging to production",
                )
            ]
            production = await app.command(PULL, "mo", "/deploy production")
            approval = await app.command(PULL, "alice", "/approve")
            jobs = await app.jobs()
    assert host.reactions_on(staging) == ["eyes", "rocket"]
    assert host.reactions_on(production) == ["eyes", "rocket"]
    assert [host.reactions_on(c) for c in [*refused, approval]] == [["eyes", "-1"]] * 4
    said = [call.body["body"] for call in writes(host.sent()) if call.path.endswith("/7/comments")]
    needs = [line for line in said if " needs " in line]
    assert needs == [
        "@alice needs maintain on the repository for /deploy production, and has write",
        "@alice needs maintain on the repository for /rollback staging, and has write",
        "@alice needs maintain on the repository for /promote production, and has write",
        "@alice needs maintain on the repository for /approve, and has write",
    ]
    assert [(job.environment, job.requested_by, job.state) for job in jobs] == [
        ("staging", "github:alice", JobState.COMPLETED),
        ("production", "github:mo", JobState.AWAITING_APPROVAL),  # alice's /approve did not count
    ]
    assert ran_lines(tmp_path) == [f"web-staging {head_of(PULL)}"]


async def test_a_deploys_params_reach_its_command_and_are_kept_with_it(
    sqlite: str, tmp_path: Path
) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-staging", command_target(deploy_script(tmp_path)))
            comment = await app.command(PULL, "alice", "/deploy | note=hotfix-42")  # default env
            [job] = await app.jobs()
    assert host.reactions_on(comment) == ["eyes", "rocket"]
    assert (job.environment, job.params, job.state) == (
        "staging",
        {"note": "hotfix-42"},
        JobState.COMPLETED,
    )
    assert ran_lines(tmp_path) == [f"web-staging {head_of(PULL)} hotfix-42"]


async def test_a_deploy_pins_the_components_images_from_the_registry(
    sqlite: str, tmp_path: Path
) -> None:
    """A repository that declares components: the release made for the head pins each image
    by the digest the registry has for its tag (the commit), and the target deploys it."""
    config = "components:\n  web: {image: registry.example.com/acme/web}\n" + CONFIG
    head = head_of(PULL)
    registry = FakeRegistry({("acme/web", head): digest_of("web at the head")})
    with chatops_host(GITHUB, config, roles=ROLES, registry=registry) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-staging", command_target(deploy_script(tmp_path)))
            comment = await app.command(PULL, "alice", "/deploy staging")
            [release] = await app.releases()
            jobs = await app.jobs()
    assert host.reactions_on(comment) == ["eyes", "rocket"]
    assert (release.state, [(c["name"], c["digest"]) for c in release.components]) == (
        ReleaseState.READY,
        [("web", digest_of("web at the head"))],
    )
    assert [(job.release_id, job.state) for job in jobs] == [(release.id, JobState.COMPLETED)]
    assert ran_lines(tmp_path) == [f"web-staging {head} {digest_of('web at the head')}"]


async def test_noop_runs_no_executor_and_its_job_completes(sqlite: str, tmp_path: Path) -> None:
    head = head_of(PULL)
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            await register(app.services, "web-staging", command_target(deploy_script(tmp_path)))
            comment = await app.command(PULL, "alice", "/noop staging")
            [job] = await app.jobs()
    assert (job.state, job.spec.get("dry_run"), job.approvals_required) == (
        JobState.COMPLETED,
        True,
        0,
    )
    assert ran_lines(tmp_path) == []  # the target's command never ran
    assert host.reactions_on(comment) == ["eyes", "rocket"]
    assert (
        github_new_comment(
            PULL,
            f"Noop of **{head[:12]}** to **staging**: queued — "
            f"[deployment {job.id}]({job_page(job.id or 0)})",
        )
        in host.sent()
    )
    # GitHub hears of no deployment and no deploy status: only the live comment says it.
    assert [call for call in host.sent() if call.path.endswith("/deployments")] == []
    statuses = [call.body["context"] for call in host.sent() if "/statuses/" in call.path]
    assert "shipyard/deploy/staging" not in statuses
    [live] = [body for body in host.by_shipyard(PULL) if body.startswith(LIVE)]
    assert "· **noop · completed**" in live


async def test_help_lists_the_repositorys_environments(sqlite: str) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            comment = await app.command(PULL, "rita", "/help")  # a reader may ask
    assert host.reactions_on(comment) == ["eyes", "+1"]
    [reply] = [call.body["body"] for call in writes(host.sent()) if call.path.endswith("/comments")]
    lines = reply.splitlines()
    assert lines[0] == "**Shipyard commands**"
    assert any(line.startswith("| `/deploy ") and line.endswith(" | write |") for line in lines)
    assert "- **staging** — deploy: write, rollback: write, approve: write, lock: write" in lines
    assert "- **production** — deploy: write, rollback: write, approve: write, lock: write" in lines
    assert "`/deploy` alone deploys to staging." in lines


async def test_a_misspelt_command_gets_a_did_you_mean(sqlite: str) -> None:
    with chatops_host(GITHUB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITHUB), host) as app:
            comment = await app.command(PULL, "alice", "/deplyo staging")
            assert await app.jobs() == []
    assert writes(host.sent()) == [
        reaction(comment, "eyes"),
        reaction(comment, "-1"),
        github_new_comment(PULL, "unknown command /deplyo; did you mean /deploy?"),
    ]
