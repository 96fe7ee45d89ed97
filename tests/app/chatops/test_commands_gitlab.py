"""ChatOps on GitLab, end to end: a `Note Hook` delivery on a merge request (GitLab's own
payload), with its token, through the intake; the note re-read and its author's access level
asked of GitLab's API (users, then members); the award emoji (`POST
/projects/:id/merge_requests/:iid/notes/:note_id/award_emoji {"name"}`), the reply (a note)
and the live note (posted, then edited with PUT) as GitLab's API takes them; a release of the
merge request's head, and a deployment whose command target really ran. A guest is refused
with the role the command needs, a fork's merge request is refused, and Shipyard's own notes
and updated notes (`object_attributes.action: update`) are passed over without a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db.models.deployments import JobState
from tests.support.chatops import (
    EDITED,
    chatops_settings,
    deploy_script,
    migrated_sqlite,
    ran_lines,
    shipyard,
)
from tests.support.chatops_hosts import BOT, FakePull, chatops_host, head_of, writes
from tests.support.deploy_hosts import Sent, job_page, on_repo, progress_body, read_config
from tests.support.deploying import command_target, register
from tests.support.host_reports import gitlab_edited_note, gitlab_new_note

GITLAB = "gitlab"
CONFIG = """
chatops: {default_environment: staging}
environments:
  staging: {targets: [web-staging]}
  production: {targets: [web-production]}
"""
ROLES = {"alice": "write", "rita": "read"}  # GitLab: developer (30), guest (10)
PULL = 7
ALICE = "gitlab:alice"  # who asks, as Shipyard records a person
LIVE = "<!-- shipyard:deploy-staging -->"  # the environment's live comment


@pytest.fixture
async def sqlite(tmp_path: Path) -> str:
    return await migrated_sqlite(tmp_path)


def award(iid: int, note_id: int, name: str) -> Sent:
    """POST /projects/:id/merge_requests/:merge_request_iid/notes/:note_id/award_emoji {"name"}."""
    rest = f"/merge_requests/{iid}/notes/{note_id}/award_emoji"
    return on_repo(GITLAB, "POST", rest, {"name": name})


async def test_a_writers_deploy_reacts_releases_deploys_replies_and_ends_its_live_comment(
    migrated: str, tmp_path: Path
) -> None:
    settings = chatops_settings(migrated, GITLAB)
    head = head_of(PULL)
    with chatops_host(GITLAB, CONFIG, roles=ROLES) as host:
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
    # On the note: `eyes` before Shipyard writes anything else, then `rocket`, then the reply.
    eyes, rocket = award(PULL, comment, "eyes"), award(PULL, comment, "rocket")
    reply = gitlab_new_note(
        PULL,
        f"Deploying **{head[:12]}** to **staging**: queued — "
        f"[deployment {job.id}]({job_page(job.id or 0)})",
    )
    assert writes(sent)[0] == eyes
    assert [call for call in sent if call.path.endswith("/award_emoji")] == [eyes, rocket]
    assert sent.index(eyes) < sent.index(rocket) < sent.index(reply)
    assert host.reactions_on(comment) == ["eyes", "rocket"]
    # One live comment for the environment, posted once and edited until the deployment is
    # done; the reply beside it.
    words = f"deploy {head[:12]} to staging"
    rows = [("deploy", "web-staging", "succeeded")]
    completed = progress_body(job.id or 0, words, "completed", rows)
    [live] = [c for c in host.comments_on(PULL) if c["body"].startswith(LIVE)]
    posted = [call for call in sent if call.method == "POST" and call.path.endswith("/notes")]
    assert [call.body["body"].startswith(LIVE) for call in posted] == [True, False]
    assert posted[1] == reply
    assert [call for call in sent if call.method == "PUT"][-1] == gitlab_edited_note(
        PULL, live["id"], completed
    )
    assert live["body"] == completed
    assert sorted(host.by_shipyard(PULL)) == sorted([completed, reply.body["body"]])


async def test_a_reader_is_refused_with_the_role_the_command_needs(sqlite: str) -> None:
    with chatops_host(GITLAB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITLAB), host) as app:
            comment = await app.command(PULL, "rita", "/deploy staging")
            assert await app.jobs() == []
            assert await app.releases() == []
    refused = "@rita needs write on the repository for /deploy staging, and has read"
    assert writes(host.sent()) == [
        award(PULL, comment, "eyes"),
        award(PULL, comment, "thumbsdown"),
        gitlab_new_note(PULL, refused),
    ]
    assert host.unexpected == []


async def test_a_forks_merge_request_is_refused(sqlite: str) -> None:
    pulls = {8: FakePull(8, fork=True)}
    with chatops_host(GITLAB, CONFIG, roles=ROLES, pulls=pulls) as host:
        async with shipyard(chatops_settings(sqlite, GITLAB), host) as app:
            comment = await app.command(8, "alice", "/deploy staging")
            assert await app.jobs() == []
    refused = "#8 comes from a fork: on a fork's pull request Shipyard answers only /help and /wcid"
    assert writes(host.sent()) == [
        award(8, comment, "eyes"),
        award(8, comment, "thumbsdown"),
        gitlab_new_note(8, refused),
    ]


async def test_shipyards_own_note_is_ignored_without_an_award(sqlite: str) -> None:
    with chatops_host(GITLAB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITLAB), host) as app:
            _, delivery = await app.send(PULL, BOT, "/deploy staging")
            await app.settle()
            outcome = await app.outcome(delivery)
            assert await app.jobs() == []
    assert outcome is not None
    assert outcome["chatops"] == {"ignored": "Shipyard's own comment"}
    assert writes(host.sent()) == []
    assert host.reactions == []


async def test_an_updated_note_is_ignored(sqlite: str) -> None:
    with chatops_host(GITLAB, CONFIG, roles=ROLES) as host:
        async with shipyard(chatops_settings(sqlite, GITLAB), host) as app:
            comment, delivery = await app.send(
                PULL, "alice", "/deploy staging", action=EDITED[GITLAB]
            )
            await app.settle()
            outcome = await app.outcome(delivery)
            assert await app.jobs() == []
    assert "chatops" not in (outcome or {})
    # Only the repository's config is read (by the pipelines, for their comment triggers):
    # the comment is not even read back, and nothing is written.
    assert {call.path for call in host.sent()} <= {read_config(GITLAB)[1].path}
    assert host.reactions_on(comment) == []
