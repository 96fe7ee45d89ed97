"""Who Shipyard is on Gitea / Forgejo, re-reading a comment by id, and upserting only its own."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import respx

from providers.errors import NotFound
from providers.gitea import GiteaClient
from providers.vocabulary import Comment, Identity, comment_marker
from tests.support.gitea import REPO, WEB, R, assert_request, sample

COMMENTS = f"{R}/issues/12/comments"
BOT = "shipyard-bot"


def the_user(login: str = BOT) -> dict[str, Any]:
    """GET /user (trimmed): the token's user."""
    return {"id": 9, "login": login, "full_name": "Shipyard", "is_admin": False}


def comment(comment_id: int, body: str, login: str) -> dict[str, Any]:
    answer = copy.deepcopy(sample("comment"))
    answer.update(id=comment_id, body=body)
    answer["user"]["login"] = login
    return answer


# Identity


async def test_identity_is_the_tokens_user_asked_once(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get("/user").respond(200, json=the_user())
    assert await client.identity() == Identity(login=BOT)
    assert await client.identity() == Identity(login=BOT)
    assert route.call_count == 1  # cached by the client
    assert_request(route.calls.last.request, "GET", "/user")


# Re-reading a comment


async def test_get_comment_reads_author_body_and_pull_request(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/issues/comments/301").respond(200, json=sample("comment"))
    got = await client.get_comment(REPO, 12, 301)
    assert_request(route.calls.last.request, "GET", f"{R}/issues/comments/301")
    assert route.call_count == 1
    assert got == Comment(
        id=301,
        body="<!-- shipyard:ci -->\nTests: passed",
        author=BOT,
        url=f"{WEB}/harbour/shipyard-demo/pulls/12#issuecomment-301",
        author_is_bot=False,  # Gitea has no bot flag
        pull_request=12,
    )


async def test_get_comment_of_an_issue_takes_the_number_from_issue_url(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    answer = comment(302, "hello", "ada")
    answer.update(pull_request_url="", issue_url=f"{WEB}/harbour/shipyard-demo/issues/40")
    api.get(f"{R}/issues/comments/302").respond(200, json=answer)
    got = await client.get_comment(REPO, 12, 302)
    assert (got.author, got.pull_request) == ("ada", 40)


@pytest.mark.parametrize("status", [404, 204], ids=["gone", "an-event-not-a-comment"])
async def test_get_comment_that_cannot_be_read_is_not_found(
    client: GiteaClient, api: respx.MockRouter, status: int
) -> None:
    # 204: the id names an event of the thread (a label change, a review), not a comment.
    answer = {"message": "comment does not exist"} if status == 404 else None
    route = api.get(f"{R}/issues/comments/5").respond(status, json=answer)
    with pytest.raises(NotFound):
        await client.get_comment(REPO, 12, 5)
    assert route.call_count == 1


# Upsert: only Shipyard's own comments


async def test_a_marker_planted_by_someone_else_is_not_edited(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    planted = comment(1001, f"{comment_marker('ci')}\nTests: passed (trust me)", "mallory")
    api.get(COMMENTS).respond(200, json=[planted, comment(1002, "lgtm", "ada")])
    me = api.get("/user").respond(200, json=the_user())
    body = f"{comment_marker('ci')}\nTests: failed"
    posted = api.post(COMMENTS).respond(201, json=comment(1003, body, BOT))

    got = await client.upsert_comment(REPO, 12, "ci", "Tests: failed")

    # No PATCH route: respx refuses any request not mocked, so none was made.
    assert [(c.request.method, c.request.url.path) for c in api.calls] == [
        ("GET", f"/api/v1{COMMENTS}"),
        ("GET", "/api/v1/user"),
        ("POST", f"/api/v1{COMMENTS}"),
    ]
    assert_request(me.calls.last.request, "GET", "/user")
    assert_request(posted.calls.last.request, "POST", COMMENTS, body={"body": body})
    assert got.id == 1003


async def test_shipyards_own_comment_after_a_planted_one_is_updated(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    thread = [
        comment(1001, f"{comment_marker('ci')}\nfake", "mallory"),
        comment(1002, f"{comment_marker('ci')}\nold", "Shipyard-Bot"),  # logins: any case
    ]
    api.get(COMMENTS).respond(200, json=thread)
    api.get("/user").respond(200, json=the_user())
    body = f"{comment_marker('ci')}\nnew"
    patched = api.patch(f"{R}/issues/comments/1002").respond(200, json=comment(1002, body, BOT))

    await client.upsert_comment(REPO, 12, "ci", "new")

    assert [c.request.method for c in api.calls] == ["GET", "GET", "PATCH"]
    assert_request(
        patched.calls.last.request, "PATCH", f"{R}/issues/comments/1002", body={"body": body}
    )
