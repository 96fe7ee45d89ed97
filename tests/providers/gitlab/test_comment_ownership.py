"""Who Shipyard is on GitLab, re-reading a note by id, and upserting only Shipyard's own notes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import responses

from app.secrets.masker import Masker
from providers.errors import NotFound
from providers.gitlab import GitLabClient
from providers.vocabulary import Comment, Identity, Repo, comment_marker
from tests.support.clock import FakeClock
from tests.support.gitlab import BASE, TOKEN, sent
from tests.support.samples import load_sample

API = f"{BASE}/api/v4"
REPO = Repo("group/sub/project")
NOTES = f"{API}/projects/group%2Fsub%2Fproject/merge_requests/7/notes"
LISTING = f"{NOTES}?sort=asc&order_by=created_at&per_page=100&page=1"
BOT = "project_42_bot_5f2c"  # a project access token's bot user


@pytest.fixture
async def client() -> AsyncIterator[GitLabClient]:
    policy = FakeClock(1_714_644_000.0).policy(attempts=3, jitter=0.0)
    provider = GitLabClient(BASE, TOKEN, mask=Masker(), retry=policy)
    yield provider
    await provider.aclose()


def the_user(username: str = BOT) -> dict[str, Any]:
    """GET /user (trimmed): the token's user; project and group tokens have bot users."""
    return {"id": 61, "username": username, "name": "shipyard", "state": "active", "bot": True}


def note(note_id: int, body: str, username: str) -> dict[str, Any]:
    author = {"id": note_id, "username": username, "name": username, "state": "active"}
    return {**load_sample("gitlab_api", "note"), "id": note_id, "body": body, "author": author}


# Identity


async def test_identity_is_the_tokens_user_asked_once(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{API}/user", json=the_user())
    assert await client.identity() == Identity(login=BOT)
    assert await client.identity() == Identity(login=BOT)
    assert len(api.calls) == 1  # cached by the client
    sent(api, 0, "GET", f"{API}/user")


# Re-reading a note


async def test_get_comment_reads_the_note_through_its_merge_request(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{NOTES}/301", json=load_sample("gitlab_api", "note"))
    got = await client.get_comment(REPO, 7, 301)
    sent(api, 0, "GET", f"{NOTES}/301")
    assert got == Comment(
        id=301,
        body="<!-- shipyard:deploy -->\nDeploying v1.2.0 to staging.",
        author="shipyard-bot",
        author_is_bot=False,  # the sample's author has no `bot` flag (older GitLab)
        pull_request=7,
    )


@pytest.mark.parametrize(
    ("author", "system", "is_bot"),
    [
        ({"username": BOT, "bot": True}, False, True),
        ({"username": "alice", "bot": False}, False, False),
        ({"username": "alice"}, True, True),  # a system note is GitLab's own
    ],
    ids=["bot-user", "person", "system-note"],
)
async def test_get_comment_says_whether_a_bot_wrote_it(
    client: GitLabClient,
    api: responses.RequestsMock,
    author: dict[str, Any],
    system: bool,
    is_bot: bool,
) -> None:
    answer = {**note(5, "text", "x"), "author": author, "system": system}
    api.get(f"{NOTES}/5", json=answer)
    got = await client.get_comment(REPO, 7, 5)
    assert (got.author, got.author_is_bot, got.pull_request) == (author["username"], is_bot, 7)


async def test_get_comment_that_is_gone_is_not_found(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{NOTES}/9", json={"message": "404 Not found"}, status=404)
    with pytest.raises(NotFound):
        await client.get_comment(REPO, 7, 9)
    assert len(api.calls) == 1


async def test_iter_comments_says_whether_a_bot_wrote_each_note(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    bot_note = note(2, "deployed", BOT)
    bot_note["author"]["bot"] = True
    api.get(NOTES, json=[note(1, "/deploy staging", "alice"), bot_note])
    got = [(c.author, c.author_is_bot) async for c in client.iter_comments(REPO, 7)]
    assert got == [("alice", False), (BOT, True)]


# Upsert: only Shipyard's own notes


async def test_a_marker_planted_by_someone_else_is_not_edited(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    marker = comment_marker("deploy")
    api.get(NOTES, json=[note(1, f"{marker}\nDeployed (not really)", "mallory")])
    api.get(f"{API}/user", json=the_user())
    body = f"{marker}\nDeploying."
    api.post(NOTES, json=note(2, body, BOT), status=201)

    got = await client.upsert_comment(REPO, 7, "deploy", "Deploying.")

    # No PUT registered: responses refuses any request not registered, so none was made.
    assert len(api.calls) == 3
    sent(api, 0, "GET", LISTING)
    sent(api, 1, "GET", f"{API}/user")
    sent(api, 2, "POST", NOTES, {"body": body})
    assert got.id == 2


async def test_shipyards_own_note_after_a_planted_one_is_updated(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    marker = comment_marker("deploy")
    thread = [note(1, f"{marker}\nfake", "mallory"), note(2, f"{marker}\nold", BOT.upper())]
    api.get(NOTES, json=thread)
    api.get(f"{API}/user", json=the_user())
    body = f"{marker}\nDeployed."
    api.put(f"{NOTES}/2", json=note(2, body, BOT))

    await client.upsert_comment(REPO, 7, "deploy", "Deployed.")

    assert len(api.calls) == 3
    sent(api, 2, "PUT", f"{NOTES}/2", {"body": body})
