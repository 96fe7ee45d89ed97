"""The GitLab client against GitLab's REST API as documented, mocked at the requests level."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from app.secrets.masker import Masker
from providers.errors import (
    AuthenticationFailed,
    Forbidden,
    NotFound,
    ProviderError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from providers.gitlab import GitLabClient, GitLabConfig, client_for
from providers.vocabulary import (
    CheckRun,
    CheckStatus,
    Comment,
    CommitState,
    CommitStatus,
    Permission,
    PullRequest,
    Reaction,
    Repo,
    RunStatus,
    StatusReport,
    WorkflowRun,
    comment_marker,
)
from tests.support.clock import FakeClock
from tests.support.gitlab import BASE, TOKEN, sent
from tests.support.samples import load_sample

API = f"{BASE}/api/v4"
REPO = Repo("group/sub/project")
PROJECT = f"{API}/projects/group%2Fsub%2Fproject"  # the project path, URL-encoded
SHA = "8b2a1e0f4c6d3b9a7e5f1c2d4b6a8e0f2c4d6b8a"
NOTES = f"{PROJECT}/merge_requests/7/notes"
NOW = 1_714_644_000.0
ATTEMPTS = 3


def sample(name: str) -> Any:
    return load_sample("gitlab_api", name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[GitLabClient]:
    policy = clock.policy(attempts=ATTEMPTS, jitter=0.0)
    provider = GitLabClient(BASE, TOKEN, mask=Masker(), retry=policy)
    yield provider
    await provider.aclose()


# Commit statuses and check runs


@pytest.mark.parametrize(
    ("state", "gitlab_state"),
    [
        (CommitState.PENDING, "pending"),
        (CommitState.SUCCESS, "success"),
        (CommitState.FAILURE, "failed"),
        (CommitState.ERROR, "failed"),
    ],
)
async def test_set_commit_status_posts_state_name_description_and_url(
    client: GitLabClient, api: responses.RequestsMock, state: CommitState, gitlab_state: str
) -> None:
    api.post(f"{PROJECT}/statuses/{SHA}", json=sample("commit_status"), status=201)
    status = CommitStatus(
        state, "shipyard/deploy", "Deploy to staging", "https://shipyard.example.com/d/3"
    )

    await client.set_commit_status(REPO, SHA, status)

    sent(
        api,
        0,
        "POST",
        f"{PROJECT}/statuses/{SHA}",
        {
            "state": gitlab_state,
            "name": "shipyard/deploy",
            "description": "Deploy to staging",
            "target_url": "https://shipyard.example.com/d/3",
        },
    )


async def test_set_commit_status_leaves_out_what_is_not_given(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.post(f"{PROJECT}/statuses/{SHA}", json=sample("commit_status"), status=201)

    await client.set_commit_status(REPO, SHA, CommitStatus(CommitState.PENDING, "ci"))

    sent(api, 0, "POST", f"{PROJECT}/statuses/{SHA}", {"state": "pending", "name": "ci"})


async def test_set_commit_status_to_the_state_it_has_is_done(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    message = (
        "Cannot transition status via :enqueue from :pending "
        '(Reason(s): Status cannot transition via "enqueue")'
    )
    api.post(f"{PROJECT}/statuses/{SHA}", json={"message": message}, status=400)

    await client.set_commit_status(REPO, SHA, CommitStatus(CommitState.PENDING, "ci"))

    assert len(api.calls) == 1


async def test_set_commit_status_other_refusals_raise(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.post(f"{PROJECT}/statuses/{SHA}", json={"message": "state is invalid"}, status=400)

    with pytest.raises(ValidationFailed, match="state is invalid"):
        await client.set_commit_status(REPO, SHA, CommitStatus(CommitState.PENDING, "ci"))


@pytest.mark.parametrize(
    ("check", "gitlab_state"),
    [
        (CheckRun("lint", CheckStatus.IN_PROGRESS, title="Linting"), "pending"),
        (CheckRun("lint", CheckStatus.COMPLETED, CommitState.FAILURE, "2 errors"), "failed"),
    ],
)
async def test_check_runs_fall_back_to_commit_statuses(
    client: GitLabClient, api: responses.RequestsMock, check: CheckRun, gitlab_state: str
) -> None:
    api.post(f"{PROJECT}/statuses/{SHA}", json=sample("commit_status"), status=201)

    assert await client.create_check_run(REPO, SHA, check) == check

    body = {"state": gitlab_state, "name": "lint", "description": check.title}
    sent(api, 0, "POST", f"{PROJECT}/statuses/{SHA}", body)


async def test_list_commit_statuses_keeps_the_latest_per_name(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    url = f"{PROJECT}/repository/commits/{SHA}/statuses"
    api.get(url, json=sample("commit_statuses"), headers={"X-Next-Page": ""})

    reports = await client.list_commit_statuses(REPO, SHA)

    sent(api, 0, "GET", f"{url}?per_page=100&page=1")
    assert sorted(reports, key=lambda r: r.context) == [
        StatusReport("lint", CommitState.ERROR, "Canceled by a newer pipeline", None),
        StatusReport(
            "rspec",
            CommitState.PENDING,
            None,
            "https://gitlab.example.com/group/sub/project/-/jobs/1044",
        ),
        StatusReport(
            "shipyard/deploy",
            CommitState.SUCCESS,
            "Deployed to staging",
            "https://shipyard.example.com/deployments/3",
        ),
    ]


# Merge-request notes and reactions


async def test_post_comment(client: GitLabClient, api: responses.RequestsMock) -> None:
    api.post(NOTES, json=sample("note"), status=201)
    body = "<!-- shipyard:deploy -->\nDeploying v1.2.0 to staging."

    comment = await client.post_comment(REPO, 7, body)

    sent(api, 0, "POST", NOTES, {"body": body})
    assert comment == Comment(id=301, body=body, author="shipyard-bot", pull_request=7)


async def test_update_comment(client: GitLabClient, api: responses.RequestsMock) -> None:
    api.put(f"{NOTES}/301", json={**sample("note"), "body": "Deployed."})

    comment = await client.update_comment(REPO, 7, 301, "Deployed.")

    sent(api, 0, "PUT", f"{NOTES}/301", {"body": "Deployed."})
    assert comment == Comment(id=301, body="Deployed.", author="shipyard-bot", pull_request=7)


async def test_iter_comments_skips_system_notes(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(NOTES, json=sample("notes"), headers={"X-Next-Page": "", "X-Page": "1"})

    comments = [comment async for comment in client.iter_comments(REPO, 7)]

    sent(api, 0, "GET", f"{NOTES}?sort=asc&order_by=created_at&per_page=100&page=1")
    assert comments == [
        Comment(id=298, body="/deploy staging", author="alice", pull_request=7)  # noteable_iid
    ]


async def test_iter_comments_follows_link_headers(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    # Without x-next-page (keyset pagination, some proxies), the Link header says what is next.
    link = f'<{NOTES}?order_by=created_at&page=2&per_page=100&sort=asc>; rel="next"'
    first, second = sample("notes")[1], {**sample("notes")[1], "id": 299, "body": "thanks"}
    api.get(NOTES, json=[first], headers={"Link": link}, match=[page(1)])
    api.get(NOTES, json=[second], match=[page(2)])

    comments = [comment.id async for comment in client.iter_comments(REPO, 7)]

    assert comments == [298, 299]


@pytest.mark.parametrize(
    ("reaction", "emoji"),
    [
        (Reaction.THUMBS_UP, "thumbsup"),
        (Reaction.THUMBS_DOWN, "thumbsdown"),
        (Reaction.EYES, "eyes"),
        (Reaction.ROCKET, "rocket"),
        (Reaction.CONFUSED, "confused"),
        (Reaction.HOORAY, "tada"),
    ],
)
async def test_add_reaction_awards_an_emoji_on_the_note(
    client: GitLabClient, api: responses.RequestsMock, reaction: Reaction, emoji: str
) -> None:
    api.post(f"{NOTES}/298/award_emoji", json={**sample("award_emoji"), "name": emoji}, status=201)

    await client.add_reaction(REPO, 7, 298, reaction)

    sent(api, 0, "POST", f"{NOTES}/298/award_emoji", {"name": emoji})


async def test_add_reaction_already_given_is_done(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    message = "404 Award Emoji Name has already been taken"
    api.post(f"{NOTES}/298/award_emoji", json={"message": message}, status=404)

    await client.add_reaction(REPO, 7, 298, Reaction.EYES)

    assert len(api.calls) == 1


async def test_add_reaction_on_a_missing_note_raises(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.post(f"{NOTES}/298/award_emoji", json={"message": "404 Note Not Found"}, status=404)

    with pytest.raises(NotFound):
        await client.add_reaction(REPO, 7, 298, Reaction.EYES)


# Upsert over paginated notes


def page(number: int) -> Any:
    return matchers.query_param_matcher({"page": str(number)}, strict_match=False)


def notes_page(first_id: int, count: int) -> list[dict[str, Any]]:
    note = sample("note")
    return [
        {**note, "id": first_id + i, "body": f"LGTM {i}", "author": {"username": "bob"}}
        for i in range(count)
    ]


async def knows_itself(client: GitLabClient, api: responses.RequestsMock) -> None:
    """Shipyard has looked itself up already (once per client); calls are counted from here."""
    api.get(f"{API}/user", json={"id": 12, "username": "shipyard-bot", "bot": True})
    await client.identity()
    api.calls.reset()  # the record of calls only: the registered answer counts as used


async def test_upsert_updates_the_marked_note_on_page_three(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    await knows_itself(client, api)
    marked = {**sample("note"), "id": 777, "body": f"{comment_marker('deploy')}\nold"}
    api.get(NOTES, json=notes_page(1, 100), headers={"X-Next-Page": "2"}, match=[page(1)])
    api.get(NOTES, json=notes_page(101, 100), headers={"X-Next-Page": "3"}, match=[page(2)])
    last = [*notes_page(201, 5), marked]
    api.get(NOTES, json=last, headers={"X-Next-Page": ""}, match=[page(3)])
    new_body = f"{comment_marker('deploy')}\nDeployed v1.2.0 to staging."
    api.put(f"{NOTES}/777", json={**marked, "body": new_body})

    comment = await client.upsert_comment(REPO, 7, "deploy", "Deployed v1.2.0 to staging.")

    query = "sort=asc&order_by=created_at&per_page=100"
    for index in range(3):
        sent(api, index, "GET", f"{NOTES}?{query}&page={index + 1}")
    sent(api, 3, "PUT", f"{NOTES}/777", {"body": new_body})
    assert [call.request.method for call in api.calls].count("POST") == 0
    assert comment.id == 777
    assert comment.body == new_body


async def test_upsert_without_a_marked_note_posts_one(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(NOTES, json=notes_page(1, 3), headers={"X-Next-Page": ""})
    body = f"{comment_marker('deploy')}\nDeploying."
    api.post(NOTES, json={**sample("note"), "id": 900, "body": body}, status=201)

    comment = await client.upsert_comment(REPO, 7, "deploy", "Deploying.")

    sent(api, 1, "POST", NOTES, {"body": body})
    assert len(api.calls) == 2
    assert comment.id == 900


# Repository content and merge requests


async def test_read_file_returns_the_raw_bytes(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    content = b"environments:\n  staging: {auto_deploy: true}\n"
    url = f"{PROJECT}/repository/files/ci%2Fshipyard.yml/raw"
    api.get(url, body=content, content_type="text/plain; charset=utf-8")

    assert await client.read_file(REPO, "ci/shipyard.yml", "main") == content
    sent(api, 0, "GET", f"{url}?ref=main")


async def test_read_file_missing_is_none(client: GitLabClient, api: responses.RequestsMock) -> None:
    url = f"{PROJECT}/repository/files/.shipyard.yml/raw"
    api.get(url, json={"message": "404 File Not Found"}, status=404)

    assert await client.read_file(REPO, ".shipyard.yml", "v1.2.0") is None
    assert len(api.calls) == 1


async def test_default_branch(client: GitLabClient, api: responses.RequestsMock) -> None:
    api.get(PROJECT, json={**sample("project"), "default_branch": "trunk"})

    assert await client.default_branch(REPO) == "trunk"
    sent(api, 0, "GET", PROJECT)


async def test_default_branch_of_an_empty_project_raises(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(PROJECT, json={**sample("project"), "default_branch": None, "empty_repo": True})

    with pytest.raises(NotFound, match="no default branch"):
        await client.default_branch(REPO)


async def test_get_pull_request(client: GitLabClient, api: responses.RequestsMock) -> None:
    api.get(f"{PROJECT}/merge_requests/7", json=sample("merge_request"))

    pull = await client.get_pull_request(REPO, 7)

    sent(api, 0, "GET", f"{PROJECT}/merge_requests/7")
    assert pull == PullRequest(
        number=7,
        title="Release v1.2.0",
        head_ref="release/v1.2.0",
        head_sha=SHA,
        base_ref="main",
        state="open",
        url="https://gitlab.example.com/group/sub/project/-/merge_requests/7",
        draft=False,
        merged=False,
        mergeable=True,
        from_fork=False,
        author="alice",
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"state": "merged"}, {"state": "merged", "merged": True}),
        ({"state": "closed"}, {"state": "closed", "merged": False}),
        ({"state": "locked"}, {"state": "closed", "merged": False}),
        ({"draft": True, "detailed_merge_status": "draft_status"}, {"draft": True}),
        ({"source_project_id": 77}, {"from_fork": True}),
        ({"detailed_merge_status": "checking", "merge_status": "checking"}, {"mergeable": None}),
        ({"detailed_merge_status": "unchecked", "merge_status": "unchecked"}, {"mergeable": None}),
        (
            {"detailed_merge_status": "conflict", "merge_status": "cannot_be_merged"},
            {"mergeable": False},
        ),
        (  # not approved yet, but the branches merge: GitHub's sense of mergeable
            {"detailed_merge_status": "not_approved", "merge_status": "can_be_merged"},
            {"mergeable": True},
        ),
    ],
)
async def test_get_pull_request_translates_state_draft_fork_and_mergeability(
    client: GitLabClient,
    api: responses.RequestsMock,
    changes: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    api.get(f"{PROJECT}/merge_requests/7", json={**sample("merge_request"), **changes})

    pull = await client.get_pull_request(REPO, 7)

    assert {key: getattr(pull, key) for key in expected} == expected


async def test_compare_counts_both_ways(client: GitLabClient, api: responses.RequestsMock) -> None:
    url = f"{PROJECT}/repository/compare"
    api.get(
        url,
        json=sample("compare"),
        match=[matchers.query_param_matcher({"from": "main", "to": "release/v1.2.0"})],
    )
    behind = {**sample("compare"), "commits": sample("compare")["commits"][:1], "diffs": []}
    api.get(
        url,
        json=behind,
        match=[matchers.query_param_matcher({"from": "release/v1.2.0", "to": "main"})],
    )

    comparison = await client.compare(REPO, "main", "release/v1.2.0")

    sent(api, 0, "GET", f"{url}?from=main&to=release%2Fv1.2.0")
    sent(api, 1, "GET", f"{url}?from=release%2Fv1.2.0&to=main")
    assert comparison.commits == ["3c9d5e7f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d", SHA]  # oldest first
    assert (comparison.ahead_by, comparison.behind_by) == (2, 1)
    assert comparison.files == ["CHANGELOG.md", "src/VERSION"]
    assert (comparison.base, comparison.head) == ("main", "release/v1.2.0")


@pytest.mark.parametrize(
    ("ref", "segment"), [("v1.2.0", "v1.2.0"), ("release/1.x", "release%2F1.x"), (SHA, SHA)]
)
async def test_commit_of_reads_the_commit_id_of_a_tag_branch_or_sha(
    client: GitLabClient, api: responses.RequestsMock, ref: str, segment: str
) -> None:
    url = f"{PROJECT}/repository/commits/{segment}"
    api.get(url, json=sample("commit"))

    assert await client.commit_of(REPO, ref) == SHA

    sent(api, 0, "GET", url)
    assert len(api.calls) == 1


async def test_commit_of_an_unknown_ref_is_not_found(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    url = f"{PROJECT}/repository/commits/v9.9.9"
    api.get(url, json={"message": "404 Commit Not Found"}, status=404)

    with pytest.raises(NotFound, match="404 Commit Not Found"):
        await client.commit_of(REPO, "v9.9.9")
    assert len(api.calls) == 1  # an answer, not retried


async def test_commit_of_refuses_an_answer_without_an_id(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{PROJECT}/repository/commits/v1.2.0", json={"message": "moved"})

    with pytest.raises(ProviderError, match="names no commit") as raised:
        await client.commit_of(REPO, "v1.2.0")
    assert not isinstance(raised.value, NotFound)


@pytest.mark.parametrize(
    ("access_level", "permission"),
    [
        (0, Permission.NONE),
        (5, Permission.NONE),
        (10, Permission.READ),
        (15, Permission.TRIAGE),
        (20, Permission.TRIAGE),
        (30, Permission.WRITE),
        (40, Permission.MAINTAIN),
        (50, Permission.ADMIN),
    ],
)
async def test_get_permission_maps_the_access_level(
    client: GitLabClient,
    api: responses.RequestsMock,
    access_level: int,
    permission: Permission,
) -> None:
    api.get(f"{API}/users", json=sample("users"))
    api.get(f"{PROJECT}/members/all/5", json={**sample("member"), "access_level": access_level})

    assert await client.get_permission(REPO, "alice") is permission

    sent(api, 0, "GET", f"{API}/users?username=alice")
    sent(api, 1, "GET", f"{PROJECT}/members/all/5")


async def test_get_permission_of_an_unknown_user_is_none(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{API}/users", json=[])

    assert await client.get_permission(REPO, "mallory") is Permission.NONE
    assert len(api.calls) == 1


async def test_get_permission_of_a_non_member_is_none(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{API}/users", json=sample("users"))
    api.get(f"{PROJECT}/members/all/5", json={"message": "404 Not found"}, status=404)

    assert await client.get_permission(REPO, "alice") is Permission.NONE


# CI pipelines


async def test_trigger_workflow_creates_a_pipeline_with_variables(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.post(f"{PROJECT}/pipeline", json=sample("pipeline"), status=201)

    run = await client.trigger_workflow(REPO, "ci.yml", "main", {"RELEASE": "v1.2.0"})

    variables = [{"key": "RELEASE", "value": "v1.2.0", "variable_type": "env_var"}]
    sent(api, 0, "POST", f"{PROJECT}/pipeline", {"ref": "main", "variables": variables})
    assert run == WorkflowRun(
        id=287,
        status=RunStatus.QUEUED,
        url="https://gitlab.example.com/group/sub/project/-/pipelines/287",
        conclusion="pending",
    )


async def test_trigger_workflow_without_inputs_sends_only_the_ref(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.post(f"{PROJECT}/pipeline", json={**sample("pipeline"), "status": "created"}, status=201)

    run = await client.trigger_workflow(REPO, "ignored.yml", "v1.2.0")

    sent(api, 0, "POST", f"{PROJECT}/pipeline", {"ref": "v1.2.0"})
    assert run.status is RunStatus.QUEUED


@pytest.mark.parametrize(
    ("gitlab_status", "status"),
    [
        ("created", RunStatus.QUEUED),
        ("waiting_for_resource", RunStatus.QUEUED),
        ("preparing", RunStatus.QUEUED),
        ("pending", RunStatus.QUEUED),
        ("scheduled", RunStatus.QUEUED),
        ("manual", RunStatus.QUEUED),
        ("running", RunStatus.RUNNING),
        ("success", RunStatus.SUCCEEDED),
        ("failed", RunStatus.FAILED),
        ("canceled", RunStatus.CANCELLED),
        ("skipped", RunStatus.CANCELLED),
    ],
)
async def test_get_workflow_run_maps_the_pipeline_status(
    client: GitLabClient, api: responses.RequestsMock, gitlab_status: str, status: RunStatus
) -> None:
    api.get(f"{PROJECT}/pipelines/287", json={**sample("pipeline"), "status": gitlab_status})

    run = await client.get_workflow_run(REPO, 287)

    sent(api, 0, "GET", f"{PROJECT}/pipelines/287")
    assert (run.id, run.status, run.conclusion) == (287, status, gitlab_status)
    assert run.url == "https://gitlab.example.com/group/sub/project/-/pipelines/287"


async def test_create_pull_request_as_a_draft(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    answer = {**sample("merge_request"), "title": "Draft: Release v1.2.0", "draft": True}
    api.post(f"{PROJECT}/merge_requests", json=answer, status=201)

    pull = await client.create_pull_request(
        REPO, head="release/v1.2.0", base="main", title="Release v1.2.0", body="Notes", draft=True
    )

    body = {
        "source_branch": "release/v1.2.0",
        "target_branch": "main",
        "title": "Draft: Release v1.2.0",
        "description": "Notes",
    }
    sent(api, 0, "POST", f"{PROJECT}/merge_requests", body)
    assert (pull.number, pull.draft, pull.head_ref, pull.base_ref) == (
        7,
        True,
        "release/v1.2.0",
        "main",
    )


async def test_create_pull_request_ready_keeps_the_title(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.post(f"{PROJECT}/merge_requests", json=sample("merge_request"), status=201)

    await client.create_pull_request(
        REPO, head="release/v1.2.0", base="main", title="Release v1.2.0", body="Notes"
    )

    assert json.loads(api.calls[0].request.body or b"")["title"] == "Release v1.2.0"


async def test_find_open_pull_request_skips_merge_requests_from_forks(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    fork = {**sample("merge_request"), "iid": 6, "source_project_id": 77}
    api.get(f"{PROJECT}/merge_requests", json=[fork, sample("merge_request")])

    pull = await client.find_open_pull_request(REPO, head="release/v1.2.0", base="main")

    query = "state=opened&source_branch=release%2Fv1.2.0&target_branch=main"
    sent(api, 0, "GET", f"{PROJECT}/merge_requests?{query}")
    assert pull is not None
    assert (pull.number, pull.from_fork) == (7, False)


async def test_find_open_pull_request_none(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{PROJECT}/merge_requests", json=[])

    assert await client.find_open_pull_request(REPO, head="x", base="main") is None


# Errors, retries and rate limits


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ValidationFailed),
        (401, AuthenticationFailed),
        (403, Forbidden),
        (404, NotFound),
        (422, ValidationFailed),
    ],
)
async def test_client_errors_map_to_the_taxonomy_and_are_not_retried(
    client: GitLabClient,
    api: responses.RequestsMock,
    clock: FakeClock,
    status: int,
    error: type[ProviderError],
) -> None:
    api.get(f"{PROJECT}/merge_requests/7", json={"message": f"{status} Refused"}, status=status)

    with pytest.raises(error) as raised:
        await client.get_pull_request(REPO, 7)

    assert type(raised.value) is error
    assert raised.value.status == status
    where = "gitlab.example.com: GET /projects/group%2Fsub%2Fproject/merge_requests/7"
    assert str(raised.value).startswith(f"{where} answered {status}")
    assert f"{status} Refused" in str(raised.value)
    assert len(api.calls) == 1
    assert clock.sleeps == []


async def test_server_errors_are_retried_then_raised(
    client: GitLabClient, api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(
        f"{PROJECT}/merge_requests/7", json={"message": "500 Internal Server Error"}, status=500
    )

    with pytest.raises(ServerError):
        await client.get_pull_request(REPO, 7)

    assert len(api.calls) == ATTEMPTS
    assert clock.sleeps == [0.25, 0.5]  # base 0.5 s doubling, halved by zero jitter


async def test_a_server_error_then_success_succeeds(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    url = f"{PROJECT}/merge_requests/7"
    api.get(url, json={"message": "502 Bad Gateway"}, status=502)
    api.get(url, json=sample("merge_request"))

    assert (await client.get_pull_request(REPO, 7)).number == 7
    assert len(api.calls) == 2


async def test_transport_errors_are_retried_then_raised(
    client: GitLabClient, api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(f"{PROJECT}/merge_requests/7", body=requests.ConnectionError("connection refused"))

    with pytest.raises(TransportError, match="ConnectionError: connection refused") as raised:
        await client.get_pull_request(REPO, 7)

    assert raised.value.status is None
    assert raised.value.__cause__ is None  # the requests exception (and its request) is dropped
    assert raised.value.__suppress_context__
    assert len(api.calls) == ATTEMPTS
    assert len(clock.sleeps) == ATTEMPTS - 1


async def test_429_is_rate_limited_and_retried_until_attempts_run_out(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{PROJECT}/merge_requests/7", json={"message": "Retry later"}, status=429)

    with pytest.raises(RateLimited):
        await client.get_pull_request(REPO, 7)

    assert len(api.calls) == ATTEMPTS


async def test_retry_after_is_honoured(
    client: GitLabClient, api: responses.RequestsMock, clock: FakeClock
) -> None:
    url = f"{PROJECT}/merge_requests/7"
    api.get(url, json={"message": "Retry later"}, status=429, headers={"Retry-After": "2"})
    api.get(url, json=sample("merge_request"))

    assert (await client.get_pull_request(REPO, 7)).number == 7
    assert clock.sleeps == [pytest.approx(2.0)]


async def test_ratelimit_reset_is_honoured(
    client: GitLabClient, api: responses.RequestsMock, clock: FakeClock
) -> None:
    url = f"{PROJECT}/merge_requests/7"
    reset = {"RateLimit-Reset": str(int(NOW) + 30), "RateLimit-Remaining": "0"}
    api.get(url, json={"message": "Retry later"}, status=429, headers=reset)
    api.get(url, json=sample("merge_request"))

    assert (await client.get_pull_request(REPO, 7)).number == 7
    assert clock.sleeps == [pytest.approx(30.0)]


async def test_a_404_is_not_retried_even_with_rate_limit_headers(
    client: GitLabClient, api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(
        f"{PROJECT}/merge_requests/7",
        json={"message": "404 Not found"},
        status=404,
        headers={"Retry-After": "2"},
    )

    with pytest.raises(NotFound):
        await client.get_pull_request(REPO, 7)

    assert len(api.calls) == 1
    assert clock.sleeps == []


async def test_a_broken_json_answer_is_an_error(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(PROJECT, body=b"<html>proxy login</html>", content_type="application/json")

    with pytest.raises(ProviderError, match="answered invalid JSON"):
        await client.default_branch(REPO)


async def test_a_redirected_post_is_refused_not_followed_as_a_get(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    # requests turns a 301/302 redirected POST into a GET; python-gitlab refuses the result.
    moved = "https://gitlab.example.org/api/v4/projects/group%2Fsub%2Fproject/pipeline"
    api.post(f"{PROJECT}/pipeline", status=301, headers={"Location": moved})
    api.get(moved, json=sample("pipeline"))

    with pytest.raises(ProviderError, match="redirected; set GITLAB_URL"):
        await client.trigger_workflow(REPO, "ci", "main")


async def test_calls_run_off_the_event_loop_thread(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    threads: list[int] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        threads.append(threading.get_ident())
        return 200, {"Content-Type": "application/json"}, json.dumps(sample("project"))

    api.add_callback(responses.GET, PROJECT, callback=answer)

    await client.default_branch(REPO)

    assert len(threads) == 1
    assert threads[0] != threading.get_ident()


# Secrets and configuration


async def test_the_token_never_shows(client: GitLabClient, api: responses.RequestsMock) -> None:
    # Even a host that echoes the token in its error message does not get it into ours.
    url = f"{PROJECT}/merge_requests/7"
    api.get(url, json={"message": f"401 Unauthorized: token {TOKEN} revoked"}, status=401)
    api.get(f"{PROJECT}/merge_requests/8", body=requests.ConnectionError(f"reset, auth {TOKEN}"))

    with pytest.raises(AuthenticationFailed) as unauthorised:
        await client.get_pull_request(REPO, 7)
    with pytest.raises(TransportError) as transport:
        await client.get_pull_request(REPO, 8)

    assert repr(client) == "GitLabClient(url='https://gitlab.example.com')"
    for text in (repr(client), str(unauthorised.value), str(transport.value)):
        assert TOKEN not in text
    assert "401 Unauthorized: token *** revoked" in str(unauthorised.value)
    assert TOKEN not in repr(vars(client))


def test_client_for_without_a_token_or_a_url_is_none() -> None:
    assert client_for(GitLabConfig(), Masker()) is None
    assert client_for(GitLabConfig(url="", token=TOKEN), Masker()) is None


async def test_client_for_talks_to_the_configured_server(
    api: responses.RequestsMock,
) -> None:
    config = GitLabConfig(url="https://git.acme.internal/", token=TOKEN)
    provider = client_for(config, Masker(), installation_id=123)
    assert isinstance(provider, GitLabClient)
    assert provider.name == "gitlab"
    assert TOKEN not in repr(provider)
    api.get(
        "https://git.acme.internal/api/v4/projects/group%2Fsub%2Fproject", json=sample("project")
    )

    assert await provider.default_branch(REPO) == "main"

    assert api.calls[0].request.headers["PRIVATE-TOKEN"] == TOKEN
    await provider.aclose()
