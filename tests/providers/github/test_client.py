"""The GitHub client against GitHub's REST API, mocked at the HTTP transport with respx."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

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
from providers.github import GitHubClient, GitHubConfig, TokenAuth, client_for
from providers.github.auth import TokenRequest
from providers.mask import Mask
from providers.retry import RetryPolicy
from providers.vocabulary import (
    CheckRun,
    CheckStatus,
    Comment,
    CommitState,
    CommitStatus,
    Comparison,
    Identity,
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
from tests.support.github import API, NOW, TOKEN, R, assert_request, sample
from tests.support.samples import load_sample, sample_names

INSTALLATION_TOKEN = "ghs_InstallationT0kenNeverToBeSeen42"
REPO = Repo("octo-org/shipyard-demo")
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
BOT = "shipyard-bot"  # the token's user: who Shipyard is with a token


class FakeInstallation:
    """App credentials without the App: a fixed installation token."""

    is_app = True

    def __init__(self) -> None:
        self.forgotten = 0

    async def authorization(self, request_token: TokenRequest) -> str:
        return f"Bearer {INSTALLATION_TOKEN}"

    def forget(self) -> None:
        self.forgotten += 1

    def teach(self, mask: Mask) -> None:
        mask.add(INSTALLATION_TOKEN)

    async def app_jwt(self) -> str | None:
        raise AssertionError("these tests never ask who the App is")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def policy(clock: FakeClock) -> RetryPolicy:
    return clock.policy(attempts=3, jitter=0.0)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=True) as router:
        yield router


@pytest.fixture
async def client(policy: RetryPolicy) -> AsyncIterator[GitHubClient]:
    github = GitHubClient(TokenAuth(TOKEN), mask=Masker(), retry=policy)
    yield github
    await github.aclose()


@pytest.fixture
async def app_client(policy: RetryPolicy) -> AsyncIterator[GitHubClient]:
    github = GitHubClient(FakeInstallation(), mask=Masker(), retry=policy)
    yield github
    await github.aclose()


def only_request(route: respx.Route) -> httpx.Request:
    assert route.call_count == 1
    return route.calls.last.request


def user(login: str = BOT) -> dict[str, Any]:
    """GET /user with a token: the token's user."""
    return {"login": login, "id": 77, "type": "User", "site_admin": False}


async def knows_itself(client: GitHubClient, api: respx.MockRouter) -> respx.Route:
    """Shipyard has looked itself up already (once per client); calls are counted from here."""
    route = api.get("/user").respond(200, json=user())
    assert await client.identity() == Identity(login=BOT)
    api.calls.clear()  # the router's record only: the route still counts its call
    return route


# Commit statuses and checks


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (CommitState.PENDING, "pending"),
        (CommitState.SUCCESS, "success"),
        (CommitState.FAILURE, "failure"),
        (CommitState.ERROR, "error"),
    ],
)
async def test_set_commit_status_posts_the_state_in_githubs_words(
    client: GitHubClient, api: respx.MockRouter, state: CommitState, word: str
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json={"id": 1, "state": word})
    status = CommitStatus(
        state=state,
        context="shipyard/deploy-staging",
        description="x" * 200,
        target_url="https://shipyard.example.com/deployments/12",
    )
    await client.set_commit_status(REPO, SHA, status)
    body = {
        "state": word,
        "context": "shipyard/deploy-staging",
        "description": "x" * 139 + "…",  # GitHub answers 422 above 140 characters
        "target_url": "https://shipyard.example.com/deployments/12",
    }
    assert_request(only_request(route), "POST", f"{R}/statuses/{SHA}", body=body)


async def test_set_commit_status_leaves_out_what_is_not_set(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json={"id": 1})
    await client.set_commit_status(REPO, SHA, CommitStatus(CommitState.PENDING, "ci"))
    assert json.loads(only_request(route).content) == {"state": "pending", "context": "ci"}


async def test_list_commit_statuses_combines_statuses_and_check_runs(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    statuses = api.get(f"{R}/commits/{SHA}/status").respond(200, json=sample("combined-status"))
    checks = api.get(f"{R}/commits/{SHA}/check-runs").respond(200, json=sample("check-runs"))
    reports = await client.list_commit_statuses(REPO, SHA)
    assert_request(only_request(statuses), "GET", f"{R}/commits/{SHA}/status", {"per_page": "100"})
    assert_request(
        only_request(checks), "GET", f"{R}/commits/{SHA}/check-runs", {"per_page": "100"}
    )
    assert reports == [
        StatusReport(
            "shipyard/deploy-staging",
            CommitState.FAILURE,
            "Health check failed",
            "https://shipyard.example.com/deployments/12",
        ),
        # A check run with a status's name replaces it: timed_out is a failure.
        StatusReport(
            "ci/lint", CommitState.FAILURE, "Lint timed out", "https://shipyard.example.com/runs/4"
        ),
        StatusReport(
            "tests", CommitState.SUCCESS, "All tests pass", "https://shipyard.example.com/runs/4"
        ),
        StatusReport(
            "build", CommitState.PENDING, None, "https://github.com/octo-org/shipyard-demo/runs/5"
        ),
    ]


async def test_create_check_run_as_an_app_posts_a_check_run(
    app_client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/check-runs").respond(201, json=sample("check-run"))
    check = CheckRun(
        name="shipyard/review",
        status=CheckStatus.COMPLETED,
        conclusion=CommitState.ERROR,
        title="Runner lost",
        summary="The step `tests` lost its runner.",
        details_url="https://shipyard.example.com/runs/7",
    )
    created = await app_client.create_check_run(REPO, SHA, check)
    body = {
        "name": "shipyard/review",
        "head_sha": SHA,
        "status": "completed",
        "conclusion": "failure",  # check runs have no "error"
        "details_url": "https://shipyard.example.com/runs/7",
        "output": {"title": "Runner lost", "summary": "The step `tests` lost its runner."},
    }
    assert_request(
        only_request(route), "POST", f"{R}/check-runs", body=body, token=INSTALLATION_TOKEN
    )
    assert created.id == 4242
    assert created.name == "shipyard/review"


async def test_update_check_run_as_an_app_patches_it(
    app_client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.patch(f"{R}/check-runs/4242").respond(200, json=sample("check-run"))
    check = CheckRun(
        name="shipyard/review", status=CheckStatus.IN_PROGRESS, summary="Step 2 of 3", id=4242
    )
    updated = await app_client.update_check_run(REPO, SHA, check)
    body = {
        "name": "shipyard/review",
        "status": "in_progress",
        "output": {"title": "shipyard/review", "summary": "Step 2 of 3"},
    }
    assert_request(
        only_request(route), "PATCH", f"{R}/check-runs/4242", body=body, token=INSTALLATION_TOKEN
    )
    assert updated == check


async def test_update_check_run_without_an_id_creates_one(
    app_client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/check-runs").respond(201, json=sample("check-run"))
    check = CheckRun(name="shipyard/review", status=CheckStatus.QUEUED)
    updated = await app_client.update_check_run(REPO, SHA, check)
    assert json.loads(only_request(route).content) == {
        "name": "shipyard/review",
        "head_sha": SHA,
        "status": "queued",
    }
    assert updated.id == 4242


async def test_check_runs_with_a_plain_token_become_commit_statuses(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    # No check-runs route: respx refuses any request not mocked, so none may be made.
    statuses = api.post(f"{R}/statuses/{SHA}").respond(201, json={"id": 1})
    check = CheckRun(
        name="shipyard/review",
        status=CheckStatus.COMPLETED,
        conclusion=CommitState.FAILURE,
        title="2 tests failed",
        details_url="https://shipyard.example.com/runs/7",
    )
    await client.create_check_run(REPO, SHA, check)
    await client.update_check_run(REPO, SHA, check)
    assert statuses.call_count == 2
    assert len(api.calls) == 2
    assert_request(
        statuses.calls.last.request,
        "POST",
        f"{R}/statuses/{SHA}",
        body={
            "state": "failure",
            "context": "shipyard/review",
            "description": "2 tests failed",
            "target_url": "https://shipyard.example.com/runs/7",
        },
    )


# Comments and reactions


async def test_post_comment(client: GitHubClient, api: respx.MockRouter) -> None:
    route = api.post(f"{R}/issues/7/comments").respond(201, json=sample("issue-comment"))
    comment = await client.post_comment(REPO, 7, "Tests: passed")
    assert_request(
        only_request(route), "POST", f"{R}/issues/7/comments", body={"body": "Tests: passed"}
    )
    assert comment == Comment(
        id=1146825,
        body="<!-- shipyard:ci -->\nTests: passed",
        author="shipyard[bot]",
        url="https://github.com/octo-org/shipyard-demo/pull/7#issuecomment-1146825",
        author_is_bot=True,  # "user": {"type": "Bot"}
    )


async def test_update_comment(client: GitHubClient, api: respx.MockRouter) -> None:
    route = api.patch(f"{R}/issues/comments/1146825").respond(200, json=sample("issue-comment"))
    comment = await client.update_comment(REPO, 7, 1146825, "Tests: passed")
    assert_request(
        only_request(route), "PATCH", f"{R}/issues/comments/1146825", body={"body": "Tests: passed"}
    )
    assert comment.id == 1146825


async def test_add_reaction(client: GitHubClient, api: respx.MockRouter) -> None:
    route = api.post(f"{R}/issues/comments/1146825/reactions").respond(201, json=sample("reaction"))
    await client.add_reaction(REPO, 7, 1146825, Reaction.THUMBS_UP)
    assert_request(
        only_request(route),
        "POST",
        f"{R}/issues/comments/1146825/reactions",
        body={"content": "+1"},
    )


def comment_pages(
    marked_page: int | None, *, planted_page: int | None = None
) -> list[list[dict[str, Any]]]:
    """Three pages of 100, 100 and 3 comments; Shipyard's marked one (if any) on
    `marked_page`, and one someone else wrote with the same marker on `planted_page`."""
    pages = []
    for page, size in ((1, 100), (2, 100), (3, 3)):
        comments = []
        for index in range(size):
            comment_id = page * 1000 + index
            body, author = f"comment {comment_id}", "mira"
            if page == marked_page and index == 1:
                body, author = f"{comment_marker('ci')}\nTests: running", BOT
            if page == planted_page and index == 2:
                body, author = f"{comment_marker('ci')}\nTests: passed (trust me)", "mallory"
            comments.append({"id": comment_id, "body": body, "user": {"login": author}})
        pages.append(comments)
    return pages


def paginate(pages: list[list[dict[str, Any]]]) -> Any:
    """GitHub's pagination: Link rel="next" (absolute, by repository id) until the last page."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        headers = {}
        base = f"{API}/repositories/1296269/issues/7/comments?per_page=100"
        if page < len(pages):
            headers["link"] = (
                f'<{base}&page={page + 1}>; rel="next", <{base}&page={len(pages)}>; rel="last"'
            )
        return httpx.Response(200, json=pages[page - 1], headers=headers)

    return answer


async def test_iter_comments_follows_link_pagination(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    first = api.get(f"{R}/issues/7/comments").mock(side_effect=paginate(comment_pages(None)))
    later = api.get("/repositories/1296269/issues/7/comments").mock(
        side_effect=paginate(comment_pages(None))
    )
    comments = [comment async for comment in client.iter_comments(REPO, 7)]
    assert [c.id for c in comments[:2]] == [1000, 1001]
    assert len(comments) == 203
    assert comments[-1].id == 3002
    assert_request(only_request(first), "GET", f"{R}/issues/7/comments", {"per_page": "100"})
    assert [dict(call.request.url.params) for call in later.calls] == [
        {"per_page": "100", "page": "2"},
        {"per_page": "100", "page": "3"},
    ]
    assert later.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_upsert_updates_the_marked_comment_on_page_three(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    await knows_itself(client, api)
    pages = comment_pages(marked_page=3)
    api.get(f"{R}/issues/7/comments").mock(side_effect=paginate(pages))
    later = api.get("/repositories/1296269/issues/7/comments").mock(side_effect=paginate(pages))
    updated = api.patch(f"{R}/issues/comments/3001").respond(
        200,
        json={"id": 3001, "body": f"{comment_marker('ci')}\nTests: passed", "user": {"login": "x"}},
    )
    comment = await client.upsert_comment(REPO, 7, "ci", "Tests: passed")
    assert later.call_count == 2  # pages 2 and 3
    assert [call.request.method for call in api.calls] == ["GET", "GET", "GET", "PATCH"]
    assert_request(
        only_request(updated),
        "PATCH",
        f"{R}/issues/comments/3001",
        body={"body": f"{comment_marker('ci')}\nTests: passed"},
    )
    assert comment.id == 3001


async def test_upsert_posts_one_marked_comment_when_there_is_none(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    pages = comment_pages(marked_page=None)
    api.get(f"{R}/issues/7/comments").mock(side_effect=paginate(pages))
    api.get("/repositories/1296269/issues/7/comments").mock(side_effect=paginate(pages))
    posted = api.post(f"{R}/issues/7/comments").respond(
        201, json={"id": 4000, "body": f"{comment_marker('ci')}\nTests: passed"}
    )
    comment = await client.upsert_comment(REPO, 7, "ci", "Tests: passed")
    assert_request(
        only_request(posted),
        "POST",
        f"{R}/issues/7/comments",
        body={"body": f"{comment_marker('ci')}\nTests: passed"},
    )
    assert comment.id == 4000


# Repository content


async def test_read_file_decodes_base64_content(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/contents/.shipyard.yml").respond(200, json=sample("contents-file"))
    content = await client.read_file(REPO, ".shipyard.yml", "main")
    assert_request(only_request(route), "GET", f"{R}/contents/.shipyard.yml", {"ref": "main"})
    assert content == b"pipelines:\n  review:\n    on: {pull_request: [opened]}\n"


async def test_read_file_encodes_path_segments_and_reads_large_files_as_blobs(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    contents = api.get(path__regex=r"/contents/").respond(200, json=sample("contents-large-file"))
    blob_sha = "95b966ae1c166bd92f8ae7d1c313e738c731dfc3"
    blob = api.get(f"{R}/git/blobs/{blob_sha}").respond(200, json=sample("blob"))
    content = await client.read_file(REPO, "/assets/big data#1.bin", "release/1.4")
    assert_request(
        only_request(contents),
        "GET",
        f"{R}/contents/assets/big%20data%231.bin",
        {"ref": "release/1.4"},
    )
    assert_request(only_request(blob), "GET", f"{R}/git/blobs/{blob_sha}")
    assert content == b"\x00\x01binary\xff"


async def test_read_file_answers_none_for_a_missing_file(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/contents/.shipyard.yml").respond(
        404, json={"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    )
    assert await client.read_file(REPO, ".shipyard.yml", "main") is None
    assert route.call_count == 1  # a 404 is an answer, not retried


async def test_read_file_answers_none_for_a_directory(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/contents/.github/workflows").respond(200, json=sample("contents-directory"))
    assert await client.read_file(REPO, ".github/workflows", "main") is None


async def test_default_branch(client: GitHubClient, api: respx.MockRouter) -> None:
    answer = sample("repository") | {"default_branch": "trunk"}
    route = api.get(R).respond(200, json=answer)
    assert await client.default_branch(REPO) == "trunk"
    assert_request(only_request(route), "GET", R)


async def test_get_pull_request_from_the_same_repository(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/pulls/7").respond(200, json=sample("pull"))
    pull = await client.get_pull_request(REPO, 7)
    assert_request(only_request(route), "GET", f"{R}/pulls/7")
    assert pull == PullRequest(
        number=7,
        title="Add login page",
        head_ref="feature/login",
        head_sha=SHA,
        base_ref="main",
        state="open",
        url="https://github.com/octo-org/shipyard-demo/pull/7",
        draft=True,
        merged=False,
        mergeable=True,
        from_fork=False,
        author="mira",
    )


async def test_get_pull_request_merged_from_a_fork(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/pulls/9").respond(200, json=sample("pull-merged-fork"))
    pull = await client.get_pull_request(REPO, 9)
    assert (pull.state, pull.merged, pull.from_fork, pull.mergeable) == ("merged", True, True, None)
    assert pull.head_ref == "patch-1"


async def test_a_pull_request_whose_fork_was_deleted_is_from_a_fork(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    answer = sample("pull")
    answer["head"]["repo"] = None
    api.get(f"{R}/pulls/7").respond(200, json=answer)
    assert (await client.get_pull_request(REPO, 7)).from_fork is True


async def test_compare(client: GitHubClient, api: respx.MockRouter) -> None:
    route = api.get(path__regex=r"/compare/").respond(200, json=sample("compare"))
    comparison = await client.compare(REPO, "main", "feature/login")
    assert_request(only_request(route), "GET", f"{R}/compare/main...feature/login")
    assert comparison == Comparison(
        base="main",
        head="feature/login",
        ahead_by=2,
        behind_by=1,
        commits=[
            "3a0f86fb8db8eea7ccbb9a95f325ddbedfb25e15",
            "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        ],
        files=["app/login.py", "static/login.css"],
    )


SHA_TYPE = {"content-type": "application/vnd.github.sha; charset=utf-8"}


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        ("v1.2.0", f"{R}/commits/v1.2.0"),
        ("release/1.x", f"{R}/commits/release/1.x"),
        ("v1.2.0+build#7", f"{R}/commits/v1.2.0%2Bbuild%237"),
    ],
)
async def test_commit_of_reads_the_bare_sha_of_a_tag_or_branch(
    client: GitHubClient, api: respx.MockRouter, ref: str, path: str
) -> None:
    """Asked as `application/vnd.github.sha`: the sha alone, not the commit and its patches."""
    route = api.get(path).respond(200, text=f"{SHA}\n", headers=SHA_TYPE)

    assert await client.commit_of(REPO, ref) == SHA

    request = only_request(route)
    assert (request.method, request.url.raw_path.decode()) == ("GET", path)
    assert request.headers["accept"] == "application/vnd.github.sha"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.content == b""


async def test_commit_of_an_unknown_ref_is_not_found(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    """GitHub answers 422 "No commit found for SHA" for a ref it does not know."""
    route = api.get(f"{R}/commits/v9.9.9").respond(
        422, json={"message": "No commit found for SHA: v9.9.9", "status": "422"}
    )
    with pytest.raises(NotFound, match=r"No commit found for SHA: v9\.9\.9"):
        await client.commit_of(REPO, "v9.9.9")
    assert route.call_count == 1  # an answer, not retried


async def test_commit_of_keeps_another_validation_error(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/commits/v1.2.0").respond(422, json={"message": "Validation Failed"})
    with pytest.raises(ValidationFailed, match="Validation Failed"):
        await client.commit_of(REPO, "v1.2.0")


async def test_commit_of_in_a_missing_repository_is_not_found(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    api.get(f"{R}/commits/v1.2.0").respond(404, json={"message": "Not Found"})
    with pytest.raises(NotFound):
        await client.commit_of(REPO, "v1.2.0")


@pytest.mark.parametrize(
    "answer", [{"json": {"sha": SHA}}, {"text": "<html>", "headers": SHA_TYPE}]
)
async def test_commit_of_refuses_an_answer_that_is_not_a_sha(
    client: GitHubClient, api: respx.MockRouter, answer: dict[str, Any]
) -> None:
    """A server that ignored the media type (the commit as JSON), or a proxy's page."""
    api.get(f"{R}/commits/v1.2.0").respond(200, **answer)
    with pytest.raises(ProviderError, match="not a commit sha") as raised:
        await client.commit_of(REPO, "v1.2.0")
    assert not isinstance(raised.value, NotFound)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"permission": "write", "role_name": "maintain"}, Permission.MAINTAIN),
        ({"permission": "read", "role_name": "triage"}, Permission.TRIAGE),
        ({"permission": "admin", "role_name": "admin"}, Permission.ADMIN),
        ({"permission": "write", "role_name": "release-manager"}, Permission.WRITE),  # custom
        ({"permission": "read"}, Permission.READ),  # older Enterprise Server: no role_name
        ({"permission": "none", "role_name": ""}, Permission.NONE),
    ],
)
async def test_get_permission_prefers_role_name(
    client: GitHubClient, api: respx.MockRouter, answer: dict[str, str], expected: Permission
) -> None:
    user = sample("collaborator-permission")["user"]
    route = api.get(f"{R}/collaborators/mira/permission").respond(
        200, json={"user": user, **answer}
    )
    assert await client.get_permission(REPO, "mira") is expected
    assert_request(only_request(route), "GET", f"{R}/collaborators/mira/permission")


async def test_get_permission_of_a_stranger_is_none(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/collaborators/nobody/permission").respond(
        404, json={"message": "Not Found"}
    )
    assert await client.get_permission(REPO, "nobody") is Permission.NONE
    assert route.call_count == 1


# CI


async def test_trigger_workflow_gets_the_run_id_from_the_dispatch(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/actions/workflows/ci.yml/dispatches").respond(
        200, json=sample("dispatch-run-details")
    )
    run = await client.trigger_workflow(REPO, "ci.yml", "main", {"environment": "staging"})
    assert_request(
        only_request(route),
        "POST",
        f"{R}/actions/workflows/ci.yml/dispatches",
        body={"ref": "main", "inputs": {"environment": "staging"}, "return_run_details": True},
    )
    assert run == WorkflowRun(
        id=30433651,
        status=RunStatus.QUEUED,
        url="https://github.com/octo-org/shipyard-demo/actions/runs/30433651",
    )


async def test_trigger_workflow_on_an_old_server_finds_the_run_by_listing(
    client: GitHubClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    """Enterprise Server without return_run_details: 422, dispatch again, list the runs."""
    refused = httpx.Response(
        422,
        json={
            "message": 'Invalid request.\n\n"return_run_details" is not a permitted key.',
            "documentation_url": "https://docs.github.com/enterprise-server@3.14/rest",
        },
    )
    dispatch = api.post(f"{R}/actions/workflows/ci.yml/dispatches").mock(
        side_effect=[refused, httpx.Response(204)]
    )
    listing = api.get(f"{R}/actions/workflows/ci.yml/runs").mock(
        side_effect=[
            httpx.Response(200, json={"total_count": 0, "workflow_runs": []}),
            httpx.Response(200, json=sample("workflow-runs")),
        ]
    )
    run = await client.trigger_workflow(REPO, "ci.yml", "refs/heads/main")
    first, second = (call.request for call in dispatch.calls)
    body = {"ref": "refs/heads/main", "inputs": {}}
    assert json.loads(first.content) == body | {"return_run_details": True}
    assert_request(second, "POST", f"{R}/actions/workflows/ci.yml/dispatches", body=body)
    assert listing.call_count == 2
    assert_request(
        listing.calls.last.request,
        "GET",
        f"{R}/actions/workflows/ci.yml/runs",
        {
            "event": "workflow_dispatch",
            "branch": "main",
            "created": ">=2026-03-02T09:59:00Z",  # the fake clock's now, less a minute of skew
            "per_page": "10",
        },
    )
    assert clock.sleeps == [1.0]  # waited once for the run to be listed
    assert run == WorkflowRun(
        id=30433650,  # the newest
        status=RunStatus.QUEUED,
        url="https://github.com/octo-org/shipyard-demo/actions/runs/30433650",
        conclusion=None,
    )


async def test_trigger_workflow_does_not_hide_other_validation_errors(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/actions/workflows/ci.yml/dispatches").respond(
        422, json={"message": 'Unexpected inputs provided: ["colour"]'}
    )
    with pytest.raises(ValidationFailed, match="Unexpected inputs"):
        await client.trigger_workflow(REPO, "ci.yml", "main", {"colour": "red"})
    assert route.call_count == 1


async def test_trigger_workflow_gives_up_when_no_run_appears(
    client: GitHubClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    api.post(f"{R}/actions/workflows/ci.yml/dispatches").respond(204)
    listing = api.get(f"{R}/actions/workflows/ci.yml/runs").respond(
        200, json={"total_count": 0, "workflow_runs": []}
    )
    with pytest.raises(NotFound, match="did not appear"):
        await client.trigger_workflow(REPO, "ci.yml", "main")
    assert listing.call_count == 6
    assert clock.sleeps == [1.0, 2.0, 3.0, 5.0, 5.0]


@pytest.mark.parametrize(
    ("status", "conclusion", "expected"),
    [
        ("queued", None, RunStatus.QUEUED),
        ("requested", None, RunStatus.QUEUED),
        ("waiting", None, RunStatus.QUEUED),
        ("pending", None, RunStatus.QUEUED),
        ("in_progress", None, RunStatus.RUNNING),
        ("completed", "success", RunStatus.SUCCEEDED),
        ("completed", "neutral", RunStatus.SUCCEEDED),
        ("completed", "skipped", RunStatus.SUCCEEDED),
        ("completed", "cancelled", RunStatus.CANCELLED),
        ("completed", "failure", RunStatus.FAILED),
        ("completed", "timed_out", RunStatus.FAILED),
        ("completed", "action_required", RunStatus.FAILED),
        ("completed", "startup_failure", RunStatus.FAILED),
    ],
)
async def test_get_workflow_run_maps_status_and_conclusion(
    client: GitHubClient,
    api: respx.MockRouter,
    status: str,
    conclusion: str | None,
    expected: RunStatus,
) -> None:
    answer = sample("workflow-run") | {"status": status, "conclusion": conclusion}
    route = api.get(f"{R}/actions/runs/30433642").respond(200, json=answer)
    run = await client.get_workflow_run(REPO, 30433642)
    assert_request(only_request(route), "GET", f"{R}/actions/runs/30433642")
    assert run == WorkflowRun(
        id=30433642,
        status=expected,
        url="https://github.com/octo-org/shipyard-demo/actions/runs/30433642",
        conclusion=conclusion,
    )


# Pull requests


async def test_create_pull_request(client: GitHubClient, api: respx.MockRouter) -> None:
    route = api.post(f"{R}/pulls").respond(201, json=sample("pull"))
    pull = await client.create_pull_request(
        REPO, head="feature/login", base="main", title="Add login page", body="Adds it.", draft=True
    )
    body = {
        "title": "Add login page",
        "head": "feature/login",
        "base": "main",
        "body": "Adds it.",
        "draft": True,
    }
    assert_request(only_request(route), "POST", f"{R}/pulls", body=body)
    assert (pull.number, pull.head_sha, pull.draft) == (7, SHA, True)


async def test_find_open_pull_request_filters_by_owner_and_branch(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/pulls").respond(200, json=[sample("pull")])
    pull = await client.find_open_pull_request(REPO, head="feature/login", base="main")
    assert_request(
        only_request(route),
        "GET",
        f"{R}/pulls",
        {"state": "open", "head": "octo-org:feature/login", "base": "main"},
    )
    assert pull is not None
    assert pull.number == 7


async def test_find_open_pull_request_answers_none_when_there_is_none(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/pulls").respond(200, json=[])
    assert await client.find_open_pull_request(REPO, head="mira:patch-1", base="main") is None
    assert dict(only_request(route).url.params)["head"] == "mira:patch-1"


# Errors: the taxonomy, and what is retried


@pytest.mark.parametrize(
    ("status", "headers", "error", "calls"),
    [
        (401, {}, AuthenticationFailed, 1),
        (403, {}, Forbidden, 1),
        (404, {}, NotFound, 1),
        (422, {}, ValidationFailed, 1),
        (500, {}, ServerError, 3),
        (502, {}, ServerError, 3),
        (429, {"retry-after": "1"}, RateLimited, 3),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1772445605"}, RateLimited, 3),
    ],
)
async def test_error_answers_map_to_the_taxonomy(
    client: GitHubClient,
    api: respx.MockRouter,
    status: int,
    headers: dict[str, str],
    error: type[ProviderError],
    calls: int,
) -> None:
    route = api.get(R).respond(status, json={"message": "Nope"}, headers=headers)
    with pytest.raises(error) as raised:
        await client.default_branch(REPO)
    assert type(raised.value) is error
    assert route.call_count == calls  # 401/403/404/422 are final; the rest up to 3 attempts
    assert raised.value.status == status
    assert str(raised.value) == f"GitHub (api.github.com): GET {R} answered {status}: Nope"


async def test_a_transport_error_is_retried_then_raised(
    client: GitHubClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(R).mock(side_effect=httpx.ConnectError("Connection refused"))
    with pytest.raises(TransportError, match=r"GET /repos/octo-org/shipyard-demo.*ConnectError"):
        await client.default_branch(REPO)
    assert route.call_count == 3
    assert clock.sleeps == [0.25, 0.5]  # RetryPolicy's backoff with the jitter fixed at 0


async def test_a_server_error_then_success_succeeds(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(R).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=sample("repository"))]
    )
    assert await client.default_branch(REPO) == "main"
    assert route.call_count == 2


async def test_429_with_retry_after_waits_that_long(
    client: GitHubClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(R).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, json={"message": "slow down"}),
            httpx.Response(200, json=sample("repository")),
        ]
    )
    assert await client.default_branch(REPO) == "main"
    assert route.call_count == 2
    assert clock.sleeps == [pytest.approx(2.0)]


async def test_403_with_an_exhausted_rate_limit_waits_until_the_reset(
    client: GitHubClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    reset = str(int(clock.now) + 30)
    limited = httpx.Response(
        403,
        headers={
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset,
        },
        json={"message": "API rate limit exceeded for installation ID 55."},
    )
    route = api.get(R).mock(side_effect=[limited, httpx.Response(200, json=sample("repository"))])
    assert await client.default_branch(REPO) == "main"
    assert route.call_count == 2
    assert clock.sleeps == [pytest.approx(30.0)]


async def test_secondary_rate_limit_403_with_retry_after_is_honoured(
    client: GitHubClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    limited = httpx.Response(
        403,
        headers={"Retry-After": "60"},
        json={"message": "You have exceeded a secondary rate limit."},
    )
    route = api.post(f"{R}/issues/7/comments").mock(
        side_effect=[limited, httpx.Response(201, json=sample("issue-comment"))]
    )
    await client.post_comment(REPO, 7, "hello")
    assert route.call_count == 2
    assert clock.sleeps == [pytest.approx(60.0)]


async def test_a_404_is_not_retried(
    client: GitHubClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(f"{R}/pulls/99").respond(404, json={"message": "Not Found"})
    with pytest.raises(NotFound):
        await client.get_pull_request(REPO, 99)
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_a_401_as_an_app_drops_the_cached_installation_token(
    policy: RetryPolicy, api: respx.MockRouter
) -> None:
    credentials = FakeInstallation()
    github = GitHubClient(credentials, mask=Masker(), retry=policy)
    api.get(R).respond(401, json={"message": "Bad credentials"})
    with pytest.raises(AuthenticationFailed):
        await github.default_branch(REPO)
    assert credentials.forgotten == 1
    await github.aclose()


# Secrets


async def test_repr_and_errors_never_show_the_token(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    # Even a host that echoes the credential in its message does not get it into our errors.
    api.get(R).respond(401, json={"message": f"Bad credentials: {TOKEN}"})
    api.get(f"{R}/pulls/1").mock(side_effect=httpx.ConnectError(f"refused for {TOKEN}"))
    with pytest.raises(AuthenticationFailed) as denied:
        await client.default_branch(REPO)
    with pytest.raises(TransportError) as unreachable:
        await client.get_pull_request(REPO, 1)
    for text in (repr(client), str(denied.value), repr(denied.value), str(unreachable.value)):
        assert TOKEN not in text
    assert "***" in str(denied.value)
    assert repr(client) == (
        "GitHubClient(api_url='https://api.github.com', credentials=TokenAuth(token=***))"
    )


# Construction from config


def test_client_for_without_credentials_is_none() -> None:
    assert client_for(GitHubConfig(api_url=API), Masker()) is None
    assert client_for(GitHubConfig(api_url=API, token=""), Masker(), installation_id=5) is None


async def test_client_for_with_a_token_on_enterprise_server() -> None:
    config = GitHubConfig(api_url="https://ghe.example.com/api/v3/", token=TOKEN)
    github = client_for(config, Masker())
    assert isinstance(github, GitHubClient)
    assert not github.is_app
    with respx.mock(base_url="https://ghe.example.com") as ghe:
        route = ghe.get("/api/v3/repos/octo-org/shipyard-demo").respond(
            200, json=sample("repository")
        )
        assert await github.default_branch(REPO) == "main"
    assert_request(only_request(route), "GET", "/api/v3/repos/octo-org/shipyard-demo")
    await github.aclose()


def test_samples_are_valid_json() -> None:
    for name in sample_names("github_api"):
        load_sample("github_api", name)
    assert base64.b64decode(sample("contents-file")["content"]).startswith(b"pipelines:")
