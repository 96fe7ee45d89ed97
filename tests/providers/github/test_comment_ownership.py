"""Who Shipyard is on GitHub with a token, re-reading a comment, and upserting only its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import respx

from app.secrets.masker import Masker
from providers.errors import NotFound
from providers.github import GitHubClient, TokenAuth
from providers.vocabulary import Comment, Identity, Repo, comment_marker
from tests.support.clock import FakeClock
from tests.support.github import API, NOW, TOKEN, R, assert_request, sample

REPO = Repo("octo-org/shipyard-demo")
BOT = "shipyard-bot"  # the token's user
COMMENTS = f"{R}/issues/7/comments"


@pytest.fixture
async def client() -> AsyncIterator[GitHubClient]:
    policy = FakeClock(NOW).policy(attempts=3, jitter=0.0)
    github = GitHubClient(TokenAuth(TOKEN), mask=Masker(), retry=policy)
    yield github
    await github.aclose()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=True) as router:
        yield router


def user(login: str = BOT) -> dict[str, Any]:
    """GET /user: the authenticated user (trimmed)."""
    return {"login": login, "id": 77, "type": "User", "site_admin": False}


def comment(comment_id: int, body: str, login: str, kind: str = "User") -> dict[str, Any]:
    return {
        "id": comment_id,
        "body": body,
        "user": {"login": login, "id": comment_id, "type": kind},
        "issue_url": f"{API}{R}/issues/7",
        "html_url": f"https://github.com/octo-org/shipyard-demo/pull/7#issuecomment-{comment_id}",
    }


# Identity


async def test_identity_with_a_token_is_its_user_asked_once(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get("/user").respond(200, json=user())
    assert await client.identity() == Identity(login=BOT, is_app=False)
    assert await client.identity() == Identity(login=BOT, is_app=False)
    assert route.call_count == 1  # cached by the client
    assert_request(route.calls.last.request, "GET", "/user")


# Re-reading a comment


async def test_get_comment_reads_author_bot_body_and_pull_request(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    answer = sample("issue-comment") | {"issue_url": f"{API}{R}/issues/7"}
    route = api.get(f"{R}/issues/comments/1146825").respond(200, json=answer)
    got = await client.get_comment(REPO, 7, 1146825)
    assert_request(route.calls.last.request, "GET", f"{R}/issues/comments/1146825")
    assert route.call_count == 1
    assert got == Comment(
        id=1146825,
        body="<!-- shipyard:ci -->\nTests: passed",
        author="shipyard[bot]",
        url="https://github.com/octo-org/shipyard-demo/pull/7#issuecomment-1146825",
        author_is_bot=True,
        pull_request=7,
    )


async def test_get_comment_says_which_pull_request_it_is_on(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    # Comment ids are per repository: the one asked for may sit on another pull request.
    answer = comment(88, "/deploy production", "mira") | {"issue_url": f"{API}{R}/issues/12"}
    api.get(f"{R}/issues/comments/88").respond(200, json=answer)
    got = await client.get_comment(REPO, 7, 88)
    assert (got.author, got.author_is_bot, got.pull_request) == ("mira", False, 12)


async def test_get_comment_that_is_gone_is_not_found(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/issues/comments/404").respond(404, json={"message": "Not Found"})
    with pytest.raises(NotFound):
        await client.get_comment(REPO, 7, 404)
    assert route.call_count == 1


async def test_iter_comments_names_each_author_and_whether_it_is_a_bot(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    thread = [comment(1, "/deploy staging", "mira"), comment(2, "done", "other[bot]", "Bot")]
    api.get(COMMENTS).respond(200, json=thread)
    got = [(c.author, c.author_is_bot, c.pull_request) async for c in client.iter_comments(REPO, 7)]
    assert got == [("mira", False, 7), ("other[bot]", True, 7)]


# Upsert: only Shipyard's own comments


async def test_a_marker_planted_by_someone_else_is_not_edited(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    planted = comment(1, f"{comment_marker('ci')}\nTests: passed (trust me)", "mallory")
    listing = api.get(COMMENTS).respond(200, json=[planted, comment(2, "lgtm", "mira")])
    me = api.get("/user").respond(200, json=user())
    body = f"{comment_marker('ci')}\nTests: failed"
    posted = api.post(COMMENTS).respond(201, json=comment(3, body, BOT))

    got = await client.upsert_comment(REPO, 7, "ci", "Tests: failed")

    # No PATCH route: respx refuses any request not mocked, so none was made.
    assert [(c.request.method, c.request.url.path) for c in api.calls] == [
        ("GET", COMMENTS),
        ("GET", "/user"),  # looked up once a marked comment turned up
        ("POST", COMMENTS),
    ]
    assert_request(listing.calls.last.request, "GET", COMMENTS, {"per_page": "100"})
    assert_request(me.calls.last.request, "GET", "/user")
    assert_request(posted.calls.last.request, "POST", COMMENTS, body={"body": body})
    assert (got.id, got.author) == (3, BOT)


async def test_shipyards_own_comment_after_a_planted_one_is_updated(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    thread = [
        comment(1, f"{comment_marker('ci')}\nfake", "mallory"),
        comment(2, f"{comment_marker('ci')}\nTests: running", BOT),
    ]
    api.get(COMMENTS).respond(200, json=thread)
    api.get("/user").respond(200, json=user("Shipyard-Bot"))  # logins compare in any case
    body = f"{comment_marker('ci')}\nTests: passed"
    patched = api.patch(f"{R}/issues/comments/2").respond(200, json=comment(2, body, BOT))

    got = await client.upsert_comment(REPO, 7, "ci", "Tests: passed")

    assert [c.request.method for c in api.calls] == ["GET", "GET", "PATCH"]
    assert_request(
        patched.calls.last.request, "PATCH", f"{R}/issues/comments/2", body={"body": body}
    )
    assert got.id == 2


async def test_a_thread_without_markers_needs_no_identity(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    api.get(COMMENTS).respond(200, json=[comment(1, "lgtm", "mira")])
    assert await client.find_comment(REPO, 7, "ci") is None
    assert len(api.calls) == 1  # no GET /user
