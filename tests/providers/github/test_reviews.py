"""The GitHub client's review state of a pull request, from its reviews, mocked with respx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from app.secrets.masker import Masker
from providers.errors import NotFound
from providers.github import GitHubClient, TokenAuth
from providers.vocabulary import Repo, ReviewState
from tests.support.clock import FakeClock
from tests.support.github import API, NOW, TOKEN, R, assert_request

REPO = Repo("octo-org/shipyard-demo")
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
REVIEWS = f"{R}/pulls/7/reviews"
BY_ID = "/repositories/1296269/pulls/7/reviews"  # where GitHub's Link rel="next" points


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=True) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[GitHubClient]:
    policy = FakeClock(NOW).policy(attempts=3, jitter=0.0)
    github = GitHubClient(TokenAuth(TOKEN), mask=Masker(), retry=policy)
    yield github
    await github.aclose()


def review(review_id: int, login: str | None, state: str) -> dict[str, Any]:
    """A review as `GET …/pulls/{number}/reviews` lists it (a deleted author's user is null)."""
    user = None if login is None else {"login": login, "id": review_id % 97, "type": "User"}
    return {
        "id": review_id,
        "node_id": f"PRR_kwDOAfWbYc{review_id}",
        "user": user,
        "body": "",
        "state": state,
        "html_url": f"https://github.com/octo-org/shipyard-demo/pull/7#pullrequestreview-{review_id}",
        "pull_request_url": f"{API}{R}/pulls/7",
        "author_association": "MEMBER",
        "submitted_at": "2026-03-02T09:00:00Z",
        "commit_id": SHA,
    }


async def state_of(
    client: GitHubClient, api: respx.MockRouter, reviews: list[dict[str, Any]]
) -> ReviewState:
    """The client's answer to one page of `reviews`, after checking the request it sent."""
    route = api.get(REVIEWS).respond(200, json=reviews)
    state = await client.review_state(REPO, 7)
    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", REVIEWS, {"per_page": "100"})
    return state


async def test_an_approval_approves(client: GitHubClient, api: respx.MockRouter) -> None:
    reviews = [review(1, "mira", "COMMENTED"), review(2, "alice", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.APPROVED


async def test_changes_requested_after_an_approval_by_the_same_reviewer(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "alice", "APPROVED"), review(2, "alice", "CHANGES_REQUESTED")]
    assert await state_of(client, api, reviews) is ReviewState.CHANGES_REQUESTED


async def test_one_request_for_changes_outweighs_anothers_approval(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "bob", "CHANGES_REQUESTED"), review(2, "alice", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.CHANGES_REQUESTED


async def test_an_approval_after_changes_were_requested_by_the_same_reviewer(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "bob", "CHANGES_REQUESTED"), review(2, "bob", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.APPROVED


async def test_a_dismissed_approval_leaves_it_pending(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    """GitHub lists a dismissed review with the state DISMISSED, in place of APPROVED."""
    reviews = [review(1, "alice", "DISMISSED"), review(2, "mira", "COMMENTED")]
    assert await state_of(client, api, reviews) is ReviewState.PENDING


async def test_a_dismissal_after_an_approval_by_the_same_reviewer_leaves_it_pending(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "alice", "APPROVED"), review(2, "alice", "DISMISSED")]
    assert await state_of(client, api, reviews) is ReviewState.PENDING


async def test_a_dismissed_request_for_changes_no_longer_blocks_an_approval(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "bob", "DISMISSED"), review(2, "alice", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.APPROVED


@pytest.mark.parametrize(
    "reviews",
    [
        [],
        [review(1, "mira", "COMMENTED"), review(2, "alice", "COMMENTED")],
        [review(1, "shipyard-bot", "PENDING")],  # the token's user's own unsubmitted draft
    ],
    ids=["no-reviews", "comments-only", "a-draft"],
)
async def test_without_an_approval_it_is_pending(
    client: GitHubClient, api: respx.MockRouter, reviews: list[dict[str, Any]]
) -> None:
    assert await state_of(client, api, reviews) is ReviewState.PENDING


async def test_a_comment_after_an_approval_keeps_the_approval(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "alice", "APPROVED"), review(2, "alice", "COMMENTED")]
    assert await state_of(client, api, reviews) is ReviewState.APPROVED


async def test_a_deleted_users_request_for_changes_still_counts(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, None, "CHANGES_REQUESTED"), review(2, "alice", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.CHANGES_REQUESTED


async def test_every_page_is_read_following_link_rel_next(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    """100 reviews with alice's approval on page 1; her request for changes on page 2."""
    first_page = [review(n, f"reader{n}", "COMMENTED") for n in range(1, 100)]
    first_page.append(review(100, "alice", "APPROVED"))
    second_page = [review(101, "alice", "CHANGES_REQUESTED"), review(102, "mira", "COMMENTED")]
    following = f"{API}{BY_ID}?per_page=100"
    link = f'<{following}&page=2>; rel="next", <{following}&page=2>; rel="last"'
    first = api.get(REVIEWS).respond(200, json=first_page, headers={"link": link})
    later = api.get(BY_ID).respond(200, json=second_page)

    assert await client.review_state(REPO, 7) is ReviewState.CHANGES_REQUESTED

    assert first.call_count == 1
    assert later.call_count == 1
    assert_request(first.calls.last.request, "GET", REVIEWS, {"per_page": "100"})
    assert_request(later.calls.last.request, "GET", BY_ID, {"per_page": "100", "page": "2"})


async def test_a_missing_pull_request_is_not_found(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(REVIEWS).mock(
        return_value=httpx.Response(404, json={"message": "Not Found", "status": "404"})
    )
    with pytest.raises(NotFound, match=r"GET /repos/octo-org/shipyard-demo/pulls/7/reviews"):
        await client.review_state(REPO, 7)
    assert route.call_count == 1  # a 404 is not retried
    assert_request(route.calls.last.request, "GET", REVIEWS, {"per_page": "100"})
