"""The Gitea / Forgejo client against a mocked Gitea API: the requests it sends, the translation."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
import respx

from providers.errors import (
    Forbidden,
    NotFound,
    ProviderError,
    Unsupported,
)
from providers.gitea import GiteaClient
from providers.vocabulary import (
    CheckRun,
    CheckStatus,
    Comment,
    CommitState,
    CommitStatus,
    Comparison,
    Permission,
    Reaction,
    RunStatus,
    StatusReport,
    WorkflowRun,
    comment_marker,
)
from tests.support.clock import FakeClock
from tests.support.gitea import API, REPO, WEB, R, assert_request, sample

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
BASE_SHA = "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"

# Commit statuses and check runs


async def test_set_commit_status_posts_gitea_state_and_fields(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json=sample("commit_statuses")[0])
    status = CommitStatus(
        CommitState.FAILURE, "shipyard/tests", "2 tests failed", "https://ci.example.com/1"
    )

    await client.set_commit_status(REPO, SHA, status)

    assert_request(
        route.calls.last.request,
        "POST",
        f"{R}/statuses/{SHA}",
        body={
            "state": "failure",
            "context": "shipyard/tests",
            "description": "2 tests failed",
            "target_url": "https://ci.example.com/1",
        },
    )


async def test_set_commit_status_leaves_out_what_is_unset(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json=sample("commit_statuses")[0])

    await client.set_commit_status(REPO, SHA, CommitStatus(CommitState.PENDING, "shipyard"))

    assert json.loads(route.calls.last.request.content) == {
        "state": "pending",
        "context": "shipyard",
    }


async def test_check_runs_fall_back_to_commit_statuses(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json=sample("commit_statuses")[0])
    check = CheckRun(
        "shipyard/deploy",
        CheckStatus.COMPLETED,
        conclusion=CommitState.ERROR,
        title="Runner lost",
        details_url="https://shipyard.example.com/runs/5",
    )

    assert await client.create_check_run(REPO, SHA, check) == check

    assert json.loads(route.calls.last.request.content) == {
        "state": "error",
        "context": "shipyard/deploy",
        "description": "Runner lost",
        "target_url": "https://shipyard.example.com/runs/5",
    }


async def test_list_commit_statuses_reads_every_page_and_keeps_the_newest_per_context(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    first = sample("commit_statuses")
    skipped = {**first[0], "id": 880, "status": "skipped", "context": "ci/docs"}
    old_lint = {**first[1], "id": 870, "status": "success"}
    route = api.get(f"{R}/commits/{SHA}/statuses")
    route.side_effect = [
        httpx.Response(200, json=first, headers={"X-Total-Count": "5"}),
        httpx.Response(200, json=[skipped, old_lint], headers={"X-Total-Count": "5"}),
    ]

    reports = await client.list_commit_statuses(REPO, SHA)

    assert [call.request.url.params["page"] for call in route.calls] == ["1", "2"]
    assert_request(
        route.calls[1].request,
        "GET",
        f"{R}/commits/{SHA}/statuses",
        query={"page": "2", "limit": "50"},
    )
    assert sorted(reports, key=lambda r: r.context) == [
        StatusReport(
            "ci/build", CommitState.SUCCESS, "Build passed", "https://ci.example.com/builds/77"
        ),
        StatusReport(
            "ci/docs", CommitState.SUCCESS, "Build passed", "https://ci.example.com/builds/77"
        ),
        # Gitea's warning is a finished verdict worse than pending: FAILURE.
        StatusReport("ci/lint", CommitState.FAILURE, "2 lint warnings", None),
    ]


async def test_list_commit_statuses_stops_at_an_empty_page_without_a_total(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/commits/{SHA}/statuses")
    route.side_effect = [
        httpx.Response(200, json=sample("commit_statuses")),
        httpx.Response(200, json=[]),
    ]

    reports = await client.list_commit_statuses(REPO, SHA)

    assert route.call_count == 2
    assert {r.context for r in reports} == {"ci/build", "ci/lint"}


# Comments and reactions


async def test_post_comment(client: GiteaClient, api: respx.MockRouter) -> None:
    route = api.post(f"{R}/issues/12/comments").respond(201, json=sample("comment"))

    comment = await client.post_comment(REPO, 12, "<!-- shipyard:ci -->\nTests: passed")

    assert_request(
        route.calls.last.request,
        "POST",
        f"{R}/issues/12/comments",
        body={"body": "<!-- shipyard:ci -->\nTests: passed"},
    )
    assert comment == Comment(
        id=301,
        body="<!-- shipyard:ci -->\nTests: passed",
        author="shipyard-bot",
        url=f"{WEB}/harbour/shipyard-demo/pulls/12#issuecomment-301",
        pull_request=12,  # from pull_request_url
    )


async def test_update_comment_patches_by_comment_id(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    edited = {**sample("comment"), "body": "Tests: failed"}
    route = api.patch(f"{R}/issues/comments/301").respond(200, json=edited)

    comment = await client.update_comment(REPO, 12, 301, "Tests: failed")

    assert_request(
        route.calls.last.request,
        "PATCH",
        f"{R}/issues/comments/301",
        body={"body": "Tests: failed"},
    )
    assert comment.id == 301
    assert comment.body == "Tests: failed"


async def test_update_comment_understands_no_content(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.patch(f"{R}/issues/comments/301").respond(204)

    assert await client.update_comment(REPO, 12, 301, "x") == Comment(id=301, body="x")


def comments(count: int, *, marked_at: int | None = None) -> list[dict[str, Any]]:
    thread = []
    for n in range(count):
        comment = copy.deepcopy(sample("comment"))
        comment["id"] = 1000 + n
        comment["user"]["login"] = "ada" if n % 2 else "grace"
        comment["body"] = f"comment {n}"
        if n == marked_at:
            comment["user"]["login"] = "shipyard-bot"
            comment["body"] = f"{comment_marker('ci')}\nTests: running"
        thread.append(comment)
    return thread


async def test_iter_comments_is_one_request_without_paging(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    # Gitea's GET /issues/{index}/comments has no page/limit: every comment comes at once.
    route = api.get(f"{R}/issues/12/comments").respond(200, json=comments(3))

    seen = [comment.id async for comment in client.iter_comments(REPO, 12)]

    assert seen == [1000, 1001, 1002]
    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", f"{R}/issues/12/comments")


async def knows_itself(client: GiteaClient, api: respx.MockRouter) -> None:
    """Shipyard has looked itself up already (once per client); calls are counted from here."""
    api.get("/user").respond(200, json={"id": 9, "login": "shipyard-bot"})
    await client.identity()
    api.calls.clear()  # the router's record only: the route still counts its call


async def test_upsert_finds_the_marked_comment_deep_in_a_long_thread_and_patches_it(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    await knows_itself(client, api)
    listing = api.get(f"{R}/issues/12/comments").respond(200, json=comments(140, marked_at=127))
    patched = api.patch(f"{R}/issues/comments/1127").respond(
        200, json={**sample("comment"), "id": 1127, "body": "new"}
    )

    comment = await client.upsert_comment(REPO, 12, "ci", "Tests: passed")

    assert comment.id == 1127
    assert (listing.call_count, patched.call_count) == (1, 1)
    assert [call.request.method for call in api.calls] == ["GET", "PATCH"]  # no POST
    assert json.loads(patched.calls.last.request.content) == {
        "body": f"{comment_marker('ci')}\nTests: passed"
    }


async def test_upsert_without_a_marked_comment_posts_one_with_the_marker(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/issues/12/comments").respond(200, json=comments(5))
    posted = api.post(f"{R}/issues/12/comments").respond(201, json=sample("comment"))

    await client.upsert_comment(REPO, 12, "ci", "Tests: passed")

    assert posted.call_count == 1
    assert_request(
        posted.calls.last.request,
        "POST",
        f"{R}/issues/12/comments",
        body={"body": f"{comment_marker('ci')}\nTests: passed"},
    )


@pytest.mark.parametrize(
    ("reaction", "content"),
    [
        (Reaction.THUMBS_UP, "+1"),
        (Reaction.THUMBS_DOWN, "-1"),
        (Reaction.EYES, "eyes"),
        (Reaction.ROCKET, "rocket"),
        (Reaction.CONFUSED, "confused"),
        (Reaction.HOORAY, "hooray"),
    ],
)
async def test_add_reaction_posts_gitea_reaction_content(
    client: GiteaClient, api: respx.MockRouter, reaction: Reaction, content: str
) -> None:
    route = api.post(f"{R}/issues/comments/301/reactions").respond(
        201, json={"user": {"login": "shipyard-bot"}, "content": content}
    )

    await client.add_reaction(REPO, 12, 301, reaction)

    assert_request(
        route.calls.last.request,
        "POST",
        f"{R}/issues/comments/301/reactions",
        body={"content": content},
    )


# Repository content


async def test_read_file_gets_raw_bytes_at_a_ref_with_encoded_segments(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/raw/deploy%20files/%231.yml").respond(200, content=b"releases: {}\n")

    assert await client.read_file(REPO, "deploy files/#1.yml", "release/1.x") == b"releases: {}\n"

    assert_request(
        route.calls.last.request,
        "GET",
        f"{R}/raw/deploy%20files/%231.yml",
        query={"ref": "release/1.x"},
        accept="application/octet-stream",
    )


async def test_read_file_answers_none_for_a_missing_file(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(f"{R}/raw/.shipyard.yml").respond(404, json={"message": "not found"})

    assert await client.read_file(REPO, ".shipyard.yml", "trunk") is None
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_default_branch(client: GiteaClient, api: respx.MockRouter) -> None:
    route = api.get(R).respond(200, json=sample("repository"))

    assert await client.default_branch(REPO) == "trunk"
    assert_request(route.calls.last.request, "GET", R)


# Pull requests


def pull(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(sample("pull_request"))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = data
        for key in parents:
            target = target[key]
        target[leaf] = value
    return data


async def test_get_pull_request_translates_an_open_pull_request(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/pulls/12").respond(200, json=sample("pull_request"))

    pr = await client.get_pull_request(REPO, 12)

    assert_request(route.calls.last.request, "GET", f"{R}/pulls/12")
    assert pr.number == 12
    assert pr.title == "Add health checks"
    assert (pr.head_ref, pr.head_sha, pr.base_ref) == ("feature/health", SHA, "trunk")
    assert (pr.state, pr.merged, pr.draft, pr.mergeable, pr.from_fork) == (
        "open",
        False,
        False,
        True,
        False,
    )
    assert pr.url == f"{WEB}/harbour/shipyard-demo/pulls/12"
    assert pr.author == "ada"


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"state": "closed", "merged": True}, "state", "merged"),
        ({"state": "closed", "merged": True}, "merged", True),
        ({"state": "closed"}, "state", "closed"),
        ({"head__repo_id": 19, "head__repo": {"id": 19}}, "from_fork", True),
        ({"head__repo": None}, "from_fork", True),
        ({"draft": True}, "draft", True),
        ({"title": "WIP: health checks"}, "draft", False),  # the draft field wins
        ({"draft": None, "title": "wip: health checks"}, "draft", True),
        ({"draft": None, "title": "[WIP] health checks"}, "draft", True),
        ({"draft": None, "title": "Health checks"}, "draft", False),
        ({"mergeable": False}, "mergeable", False),
    ],
)
async def test_get_pull_request_reads_state_fork_and_draft(
    client: GiteaClient,
    api: respx.MockRouter,
    changes: dict[str, Any],
    field: str,
    expected: Any,
) -> None:
    data = pull(**changes)
    if data.get("draft") is None:
        del data["draft"]  # older Gitea has no draft field at all
    api.get(f"{R}/pulls/12").respond(200, json=data)

    pr = await client.get_pull_request(REPO, 12)

    assert getattr(pr, field) == expected


async def test_create_pull_request_posts_head_base_title_body(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/pulls").respond(201, json=sample("pull_request"))

    pr = await client.create_pull_request(
        REPO, head="feature/health", base="trunk", title="Add health checks", body="Adds /healthz."
    )

    assert_request(
        route.calls.last.request,
        "POST",
        f"{R}/pulls",
        body={
            "head": "feature/health",
            "base": "trunk",
            "title": "Add health checks",
            "body": "Adds /healthz.",
        },
    )
    assert pr.number == 12


async def test_create_draft_pull_request_uses_the_wip_title_prefix(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/pulls").respond(201, json=pull(title="WIP: Bump", draft=True))

    pr = await client.create_pull_request(
        REPO, head="bump", base="trunk", title="Bump", body="", draft=True
    )

    assert json.loads(route.calls.last.request.content)["title"] == "WIP: Bump"
    assert pr.draft is True


async def test_find_open_pull_request_asks_by_base_and_head(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/pulls/trunk/feature/health").respond(200, json=sample("pull_request"))

    pr = await client.find_open_pull_request(REPO, head="feature/health", base="trunk")

    assert pr is not None
    assert pr.number == 12
    assert_request(route.calls.last.request, "GET", f"{R}/pulls/trunk/feature%2Fhealth")


async def test_find_open_pull_request_answers_none_on_404(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/pulls/trunk/feature/health").respond(404, json={"message": "not found"})

    assert await client.find_open_pull_request(REPO, head="feature/health", base="trunk") is None


async def test_find_open_pull_request_pages_open_pulls_when_the_pair_names_a_closed_one(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    # GetPullRequestByBaseHeadInfo does not filter on state: it may answer an old, merged one.
    api.get(f"{R}/pulls/trunk/feature/health").respond(
        200, json=pull(number=3, state="closed", merged=True)
    )
    others = [pull(number=n, head__ref=f"topic-{n}") for n in range(20, 70)]
    wanted = pull(number=71)
    fork = pull(number=70, head__repo_id=19, head__repo={"id": 19})
    listing = api.get(f"{R}/pulls")
    listing.side_effect = [
        httpx.Response(200, json=others, headers={"X-Total-Count": "52"}),
        httpx.Response(200, json=[fork, wanted], headers={"X-Total-Count": "52"}),
    ]

    pr = await client.find_open_pull_request(REPO, head="feature/health", base="trunk")

    assert pr is not None
    assert pr.number == 71
    assert_request(
        listing.calls[1].request,
        "GET",
        f"{R}/pulls",
        query={"state": "open", "page": "2", "limit": "50"},
    )


# Compare and permissions


async def test_compare_reads_both_directions(client: GiteaClient, api: respx.MockRouter) -> None:
    ahead = api.get(f"{R}/compare/trunk...feature/health").respond(200, json=sample("compare"))
    behind = api.get(f"{R}/compare/feature/health...trunk").respond(
        200, json={"total_commits": 3, "commits": []}
    )

    comparison = await client.compare(REPO, "trunk", "feature/health")

    assert_request(
        ahead.calls.last.request,
        "GET",
        f"{R}/compare/trunk...feature/health",
        query={"verification": "false"},
    )
    assert_request(
        behind.calls.last.request,
        "GET",
        f"{R}/compare/feature/health...trunk",
        query={"verification": "false", "files": "false"},
    )
    assert comparison == Comparison(
        base="trunk",
        head="feature/health",
        ahead_by=2,
        behind_by=3,
        commits=["6113728f27ae82c7b1a177c8d03f9e96e0adf246", SHA],  # oldest first
        files=["app/health.py", "tests/test_health.py", "compose.yml"],
    )


@pytest.mark.parametrize(
    ("ref", "segment"), [("v1.2.0", "v1.2.0"), ("release/1.x", "release%2F1.x"), (SHA, SHA)]
)
async def test_commit_of_reads_the_sha_of_a_tag_branch_or_commit(
    client: GiteaClient, api: respx.MockRouter, ref: str, segment: str
) -> None:
    """`git/commits/{sha}` takes "a git ref or commit sha" (an annotated tag answers the commit
    it tags); stats, signature checks and the file list are switched off."""
    route = api.get(f"{R}/git/commits/{segment}").respond(200, json=sample("commit"))

    assert await client.commit_of(REPO, ref) == SHA

    assert route.call_count == 1
    assert_request(
        route.calls.last.request,
        "GET",
        f"{R}/git/commits/{segment}",
        query={"stat": "false", "verification": "false", "files": "false"},
    )


async def test_commit_of_an_unknown_ref_is_not_found(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(f"{R}/git/commits/v9.9.9").respond(
        404, json={"message": "object does not exist [id: v9.9.9, rel_path: ]", "url": ""}
    )

    with pytest.raises(NotFound, match="object does not exist"):
        await client.commit_of(REPO, "v9.9.9")
    assert route.call_count == 1
    assert clock.sleeps == []  # an answer, not retried


async def test_commit_of_refuses_an_answer_without_a_sha(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/git/commits/v1.2.0").respond(200, json=[])

    with pytest.raises(ProviderError, match="no commit sha") as raised:
        await client.commit_of(REPO, "v1.2.0")
    assert not isinstance(raised.value, NotFound)


@pytest.mark.parametrize(
    ("word", "permission"),
    [
        ("none", Permission.NONE),
        ("read", Permission.READ),
        ("write", Permission.WRITE),
        ("admin", Permission.ADMIN),
        ("owner", Permission.ADMIN),
    ],
)
async def test_get_permission_maps_gitea_access_modes(
    client: GiteaClient, api: respx.MockRouter, word: str, permission: Permission
) -> None:
    route = api.get(f"{R}/collaborators/ada/permission").respond(
        200, json={**sample("collaborator_permission"), "permission": word}
    )

    assert await client.get_permission(REPO, "ada") is permission
    assert_request(route.calls.last.request, "GET", f"{R}/collaborators/ada/permission")


async def test_get_permission_of_an_unknown_user_is_none(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/collaborators/ghost/permission").respond(
        404, json={"message": "user does not exist [uid: 0, name: ghost]"}
    )

    assert await client.get_permission(REPO, "ghost") is Permission.NONE


async def test_get_permission_raises_when_the_token_may_not_ask(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    message = "Only admins can query all permissions, repo admins can query all repo permissions"
    route = api.get(f"{R}/collaborators/ada/permission").respond(403, json={"message": message})

    with pytest.raises(Forbidden, match="repo admins can query"):
        await client.get_permission(REPO, "ada")
    assert route.call_count == 1


# Workflows (Gitea Actions, Forgejo Actions)


async def test_trigger_workflow_returns_the_run_gitea_names(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/actions/workflows/ci.yml/dispatches").respond(
        200,
        json={
            "workflow_run_id": 88,
            "html_url": f"{WEB}/harbour/shipyard-demo/actions/runs/88",
            "run_url": f"{API}{R}/actions/runs/88",
        },
    )

    run = await client.trigger_workflow(REPO, "ci.yml", "trunk", {"target": "staging"})

    assert_request(
        route.calls.last.request,
        "POST",
        f"{R}/actions/workflows/ci.yml/dispatches",
        query={"return_run_details": "true"},
        body={"ref": "trunk", "inputs": {"target": "staging"}, "return_run_info": True},
    )
    assert run == WorkflowRun(
        id=88, status=RunStatus.QUEUED, url=f"{WEB}/harbour/shipyard-demo/actions/runs/88"
    )


async def test_trigger_workflow_returns_the_run_forgejo_names(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.post(f"{R}/actions/workflows/ci.yml/dispatches").respond(
        201, json={"id": 93, "run_number": 15, "jobs": ["test"]}
    )

    run = await client.trigger_workflow(REPO, "ci.yml", "trunk")

    assert run == WorkflowRun(
        id=93, status=RunStatus.QUEUED, url=f"{WEB}/harbour/shipyard-demo/actions/runs/15"
    )


async def test_trigger_workflow_finds_the_newest_dispatched_run_when_told_nothing(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.post(f"{R}/actions/workflows/ci.yml/dispatches").respond(204)
    running = {**sample("workflow_run"), "status": "queued", "conclusion": None}
    other_workflow = {**running, "id": 95, "path": "nightly.yml@refs/heads/trunk"}
    older = {**running, "id": 80}
    listing = api.get(f"{R}/actions/runs").respond(
        200, json={"workflow_runs": [other_workflow, running, older], "total_count": 3}
    )

    run = await client.trigger_workflow(REPO, "ci.yml", "refs/heads/trunk")

    assert_request(
        listing.calls.last.request,
        "GET",
        f"{R}/actions/runs",
        query={"event": "workflow_dispatch", "branch": "trunk", "limit": "50"},
    )
    assert run == WorkflowRun(
        id=88, status=RunStatus.QUEUED, url=f"{WEB}/harbour/shipyard-demo/actions/runs/88"
    )


async def test_trigger_workflow_on_a_server_without_a_run_api_says_so_when_followed(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.post(f"{R}/actions/workflows/ci.yml/dispatches").respond(204)
    api.get(f"{R}/actions/runs").respond(404, json={"message": "not found"})

    run = await client.trigger_workflow(REPO, "ci.yml", "trunk")

    assert run.status is RunStatus.QUEUED
    assert run.url == f"{WEB}/harbour/shipyard-demo/actions?workflow=ci.yml"
    with pytest.raises(Unsupported, match=r"was dispatched \(ci.yml@trunk\)"):
        await client.get_workflow_run(REPO, run.id)


@pytest.mark.parametrize(
    ("status", "conclusion", "expected"),
    [
        ("queued", None, RunStatus.QUEUED),
        ("waiting", None, RunStatus.QUEUED),
        ("pending", None, RunStatus.QUEUED),
        ("in_progress", None, RunStatus.RUNNING),
        ("completed", "success", RunStatus.SUCCEEDED),
        ("completed", "skipped", RunStatus.SUCCEEDED),
        ("completed", "failure", RunStatus.FAILED),
        ("completed", "cancelled", RunStatus.CANCELLED),
    ],
)
async def test_get_workflow_run_maps_gitea_status_and_conclusion(
    client: GiteaClient,
    api: respx.MockRouter,
    status: str,
    conclusion: str | None,
    expected: RunStatus,
) -> None:
    route = api.get(f"{R}/actions/runs/88").respond(
        200, json={**sample("workflow_run"), "status": status, "conclusion": conclusion}
    )

    run = await client.get_workflow_run(REPO, 88)

    assert_request(route.calls.last.request, "GET", f"{R}/actions/runs/88")
    assert run.id == 88
    assert run.status is expected
    assert run.conclusion == (conclusion if expected.finished else None)
    assert run.url == f"{WEB}/harbour/shipyard-demo/actions/runs/88"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("waiting", RunStatus.QUEUED),
        ("blocked", RunStatus.QUEUED),
        ("running", RunStatus.RUNNING),
        ("success", RunStatus.SUCCEEDED),
        ("failure", RunStatus.FAILED),
        ("cancelled", RunStatus.CANCELLED),
    ],
)
async def test_get_workflow_run_reads_forgejo_runs(
    client: GiteaClient, api: respx.MockRouter, status: str, expected: RunStatus
) -> None:
    api.get(f"{R}/actions/runs/93").respond(
        200, json={**sample("forgejo_action_run"), "status": status}
    )

    run = await client.get_workflow_run(REPO, "93")

    assert run.status is expected
    assert run.conclusion == (status if expected.finished else None)


async def test_get_workflow_run_without_the_api_is_unsupported(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/actions/runs/88").respond(404)
    api.get(f"{R}/actions/runs").respond(404)

    with pytest.raises(Unsupported, match=r"Gitea 1\.25 or later"):
        await client.get_workflow_run(REPO, 88)


async def test_get_workflow_run_of_a_missing_run_is_not_found(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/actions/runs/88").respond(404, json={"message": "run not found"})
    probe = api.get(f"{R}/actions/runs").respond(200, json={"workflow_runs": [], "total_count": 0})

    with pytest.raises(NotFound) as raised:
        await client.get_workflow_run(REPO, 88)
    assert not isinstance(raised.value, Unsupported)
    assert probe.calls.last.request.url.params["limit"] == "1"
