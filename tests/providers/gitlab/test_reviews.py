"""The GitLab client's review state of a merge request, from its approvals (`responses`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import responses

from app.secrets.masker import Masker
from providers.errors import NotFound
from providers.gitlab import GitLabClient
from providers.vocabulary import Repo, ReviewState
from tests.support.clock import FakeClock
from tests.support.gitlab import BASE, TOKEN, sent

REPO = Repo("group/sub/project")
APPROVALS = f"{BASE}/api/v4/projects/group%2Fsub%2Fproject/merge_requests/7/approvals"
NOW = 1_714_644_000.0


@pytest.fixture
async def client() -> AsyncIterator[GitLabClient]:
    policy = FakeClock(NOW).policy(attempts=3, jitter=0.0)
    provider = GitLabClient(BASE, TOKEN, mask=Masker(), retry=policy)
    yield provider
    await provider.aclose()


def approver(login: str) -> dict[str, Any]:
    return {
        "user": {
            "id": len(login),
            "username": login,
            "name": login.title(),
            "state": "active",
            "web_url": f"{BASE}/{login}",
        }
    }


def free(approved_by: list[str], *, user_has_approved: bool = False) -> dict[str, Any]:
    """The answer of GitLab Free: `approved` as soon as anyone approved; no counts."""
    return {
        "user_has_approved": user_has_approved,
        "user_can_approve": True,
        "approved": bool(approved_by),
        "approved_by": [approver(login) for login in approved_by],
    }


def premium(approved: bool, approvals_left: int, approved_by: list[str]) -> dict[str, Any]:
    """The answer of GitLab Premium, which counts the approvals its rules require."""
    return {
        "id": 5,
        "iid": 7,
        "project_id": 1,
        "title": "Add feature",
        "description": "",
        "state": "opened",
        "created_at": "2024-05-02T09:00:00.000Z",
        "updated_at": "2024-05-02T10:00:00.000Z",
        "merge_status": "can_be_merged",
        "approvals_required": approvals_left + len(approved_by),
        "approvals_left": approvals_left,
        "require_password_to_approve": False,
        "approved_by": [approver(login) for login in approved_by],
        "suggested_approvers": [],
        "approvers": [],
        "approver_groups": [],
        "user_has_approved": False,
        "user_can_approve": True,
        "approval_rules_left": [],
        "has_approval_rules": approvals_left + len(approved_by) > 0,
        "merge_request_approvers_available": True,
        "multiple_approval_rules_available": True,
        "approved": approved,
    }


async def state_of(
    client: GitLabClient, api: responses.RequestsMock, answer: dict[str, Any]
) -> ReviewState:
    """The client's answer to `answer`, after checking the one request it sent."""
    api.get(APPROVALS, json=answer)
    state = await client.review_state(REPO, 7)
    assert len(api.calls) == 1
    sent(api, 0, "GET", APPROVALS)
    return state


@pytest.mark.parametrize(
    "answer",
    [
        free(["alice"]),
        premium(True, 0, ["alice", "bob"]),
        premium(True, 0, []),  # no approval required by any rule
    ],
    ids=["free", "premium-all-given", "premium-none-required"],
)
async def test_an_approved_merge_request_is_approved(
    client: GitLabClient, api: responses.RequestsMock, answer: dict[str, Any]
) -> None:
    assert await state_of(client, api, answer) is ReviewState.APPROVED


@pytest.mark.parametrize(
    "answer",
    [
        premium(False, 1, ["alice"]),
        premium(True, 1, ["alice"]),  # an approval left outweighs the flag
    ],
    ids=["flag-unset", "flag-set"],
)
async def test_with_approvals_still_required_it_is_pending(
    client: GitLabClient, api: responses.RequestsMock, answer: dict[str, Any]
) -> None:
    assert await state_of(client, api, answer) is ReviewState.PENDING


async def test_an_approval_taken_back_leaves_it_pending(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    """Approved, then unapproved (or reset by a push): nobody is among `approved_by`. A
    reviewer who requests changes takes their approval back the same way: GitLab's
    approvals have no "changes requested" to read, so that too is pending."""
    assert await state_of(client, api, free([])) is ReviewState.PENDING


async def test_comments_only_leave_it_pending(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    assert await state_of(client, api, premium(False, 2, [])) is ReviewState.PENDING


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (free([], user_has_approved=True), ReviewState.PENDING),
        ({**free(["alice"]), "user_has_approved": False}, ReviewState.APPROVED),
    ],
    ids=["token-user-approved-only", "token-user-did-not-approve"],
)
async def test_what_the_tokens_own_user_did_is_not_read(
    client: GitLabClient,
    api: responses.RequestsMock,
    answer: dict[str, Any],
    expected: ReviewState,
) -> None:
    assert await state_of(client, api, answer) is expected


async def test_a_missing_merge_request_is_not_found(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(APPROVALS, json={"message": "404 Not found"}, status=404)
    with pytest.raises(NotFound, match="404 Not found"):
        await client.review_state(REPO, 7)
    assert len(api.calls) == 1  # a 404 is not retried
    sent(api, 0, "GET", APPROVALS)
