"""The Gitea / Forgejo client's review state of a pull request, from its reviews (respx)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from providers.errors import NotFound
from providers.gitea import GiteaClient
from providers.vocabulary import ReviewState
from tests.support.gitea import REPO, WEB, R, assert_request

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
OLD_SHA = "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"
REVIEWS = f"{R}/pulls/7/reviews"


def review(
    review_id: int,
    login: str,
    state: str,
    *,
    dismissed: bool = False,
    stale: bool = False,
) -> dict[str, Any]:
    """A PullReview as `GET …/pulls/{index}/reviews` lists it."""
    return {
        "id": review_id,
        "user": {"id": review_id % 97, "login": login, "full_name": "", "email": ""},
        "team": None,
        "state": state,
        "body": "",
        "commit_id": OLD_SHA if stale else SHA,
        "stale": stale,
        "official": state in ("APPROVED", "REQUEST_CHANGES"),
        "dismissed": dismissed,
        "comments_count": 0,
        "submitted_at": "2025-06-15T15:06:40Z",
        "updated_at": "2025-06-15T15:06:40Z",
        "html_url": f"{WEB}/harbour/shipyard-demo/pulls/7#issuecomment-{review_id}",
        "pull_request_url": f"{WEB}/harbour/shipyard-demo/pulls/7",
    }


async def state_of(
    client: GiteaClient, api: respx.MockRouter, reviews: list[dict[str, Any]]
) -> ReviewState:
    """The client's answer to one page of `reviews`, after checking the request it sent."""
    total = {"X-Total-Count": str(len(reviews))}
    route = api.get(REVIEWS).respond(200, json=reviews, headers=total)
    state = await client.review_state(REPO, 7)
    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", REVIEWS, query={"page": "1", "limit": "50"})
    return state


async def test_an_approval_approves(client: GiteaClient, api: respx.MockRouter) -> None:
    reviews = [review(1, "mira", "COMMENT"), review(2, "alice", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.APPROVED


async def test_changes_requested_after_an_approval_by_the_same_reviewer(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "alice", "APPROVED"), review(2, "alice", "REQUEST_CHANGES")]
    assert await state_of(client, api, reviews) is ReviewState.CHANGES_REQUESTED


async def test_one_request_for_changes_outweighs_anothers_approval(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "bob", "REQUEST_CHANGES"), review(2, "alice", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.CHANGES_REQUESTED


async def test_an_approval_after_changes_were_requested_by_the_same_reviewer(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "bob", "REQUEST_CHANGES"), review(2, "bob", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.APPROVED


async def test_a_dismissed_approval_leaves_it_pending(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "alice", "APPROVED", dismissed=True), review(2, "mira", "COMMENT")]
    assert await state_of(client, api, reviews) is ReviewState.PENDING


async def test_a_stale_approval_leaves_it_pending(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    """Made on an older head commit: new commits came after it."""
    reviews = [review(1, "alice", "APPROVED", stale=True)]
    assert await state_of(client, api, reviews) is ReviewState.PENDING


async def test_a_dismissed_request_for_changes_no_longer_blocks_an_approval(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "bob", "REQUEST_CHANGES", dismissed=True), review(2, "alice", "APPROVED")]
    assert await state_of(client, api, reviews) is ReviewState.APPROVED


async def test_a_dismissed_request_for_changes_does_not_bring_back_an_earlier_approval(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    """Gitea counts a reviewer's latest verdict only: alice took her approval back."""
    reviews = [
        review(1, "alice", "APPROVED"),
        review(2, "alice", "REQUEST_CHANGES", dismissed=True),
    ]
    assert await state_of(client, api, reviews) is ReviewState.PENDING


@pytest.mark.parametrize(
    "reviews",
    [
        [],
        [review(1, "mira", "COMMENT"), review(2, "alice", "COMMENT")],
        [review(1, "alice", "REQUEST_REVIEW"), review(2, "shipyard", "PENDING")],
    ],
    ids=["no-reviews", "comments-only", "a-request-and-a-draft"],
)
async def test_without_an_approval_it_is_pending(
    client: GiteaClient, api: respx.MockRouter, reviews: list[dict[str, Any]]
) -> None:
    assert await state_of(client, api, reviews) is ReviewState.PENDING


async def test_a_comment_after_an_approval_keeps_the_approval(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    reviews = [review(1, "alice", "APPROVED"), review(2, "alice", "COMMENT")]
    assert await state_of(client, api, reviews) is ReviewState.APPROVED


async def test_every_page_is_read(client: GiteaClient, api: respx.MockRouter) -> None:
    """50 reviews with alice's approval on page 1; her request for changes on page 2."""
    first_page = [review(n, f"reader{n}", "COMMENT") for n in range(1, 50)]
    first_page.append(review(50, "alice", "APPROVED"))
    second_page = [review(51, "alice", "REQUEST_CHANGES")]
    route = api.get(REVIEWS)
    route.side_effect = [
        httpx.Response(200, json=first_page, headers={"X-Total-Count": "51"}),
        httpx.Response(200, json=second_page, headers={"X-Total-Count": "51"}),
    ]

    assert await client.review_state(REPO, 7) is ReviewState.CHANGES_REQUESTED

    assert route.call_count == 2
    assert_request(route.calls[0].request, "GET", REVIEWS, query={"page": "1", "limit": "50"})
    assert_request(route.calls[1].request, "GET", REVIEWS, query={"page": "2", "limit": "50"})


async def test_a_missing_pull_request_is_not_found(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(REVIEWS).respond(404, json={"message": "The target couldn't be found."})
    with pytest.raises(NotFound, match="The target couldn't be found"):
        await client.review_state(REPO, 7)
    assert route.call_count == 1  # a 404 is not retried
    assert_request(route.calls.last.request, "GET", REVIEWS, query={"page": "1", "limit": "50"})
