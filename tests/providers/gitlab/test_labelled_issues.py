"""The GitLab client's open issues carrying a label (`responses`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import responses

from app.secrets.masker import Masker
from providers.errors import NotFound
from providers.gitlab import GitLabClient
from providers.vocabulary import IssueSummary, Repo
from tests.support.clock import FakeClock
from tests.support.gitlab import BASE, TOKEN, sent

REPO = Repo("group/sub/project")
ISSUES = f"{BASE}/api/v4/projects/group%2Fsub%2Fproject/issues"
WEB = f"{BASE}/group/sub/project/-/issues"
NOW = 1_714_644_000.0


@pytest.fixture
async def client() -> AsyncIterator[GitLabClient]:
    policy = FakeClock(NOW).policy(attempts=3, jitter=0.0)
    provider = GitLabClient(BASE, TOKEN, mask=Masker(), retry=policy)
    yield provider
    await provider.aclose()


def issue(iid: int, title: str, description: str | None) -> dict[str, Any]:
    """An issue as `GET /projects/:id/issues` lists it (`id` is instance-wide, `iid` the
    project's own number)."""
    return {
        "id": 84_000 + iid,
        "iid": iid,
        "project_id": 1,
        "title": title,
        "description": description,
        "state": "opened",
        "created_at": f"2024-05-02T0{iid % 10}:00:00.000Z",
        "updated_at": "2024-05-02T10:00:00.000Z",
        "closed_at": None,
        "labels": ["incident"],
        "author": {"id": 3, "username": "mira", "name": "Mira", "state": "active"},
        "type": "INCIDENT",
        "issue_type": "incident",
        "user_notes_count": 0,
        "merge_requests_count": 0,
        "confidential": False,
        "web_url": f"{WEB}/{iid}",
    }


def url(encoded_label: str) -> str:
    return f"{ISSUES}?state=opened&labels={encoded_label}&per_page=100"


async def test_open_issues_with_the_label_are_mapped(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    answer = [issue(9, "Checkout is down", "Errors since 09:12."), issue(4, "Slow search", None)]
    api.get(ISSUES, json=answer)

    found = await client.labelled_issues(REPO, "incident")

    assert found == [
        IssueSummary(9, "Checkout is down", "Errors since 09:12.", f"{WEB}/9"),
        IssueSummary(4, "Slow search", "", f"{WEB}/4"),
    ]
    assert len(api.calls) == 1
    sent(api, 0, "GET", url("incident"))


async def test_no_issues_is_an_empty_list(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(ISSUES, json=[])

    assert await client.labelled_issues(REPO, "incident") == []

    assert len(api.calls) == 1
    sent(api, 0, "GET", url("incident"))


@pytest.mark.parametrize(
    ("label", "encoded"),
    [
        ("deploy freeze", "deploy+freeze"),
        ("sev::1 & c++", "sev%3A%3A1+%26+c%2B%2B"),  # a scoped label
    ],
    ids=["a-space", "reserved-characters"],
)
async def test_the_label_is_sent_url_encoded(
    client: GitLabClient, api: responses.RequestsMock, label: str, encoded: str
) -> None:
    api.get(ISSUES, json=[issue(9, "Checkout is down", "")])

    assert [summary.number for summary in await client.labelled_issues(REPO, label)] == [9]

    assert len(api.calls) == 1
    sent(api, 0, "GET", url(encoded))


async def test_a_missing_project_is_not_found(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(ISSUES, json={"message": "404 Project Not Found"}, status=404)
    with pytest.raises(NotFound, match="404 Project Not Found"):
        await client.labelled_issues(REPO, "incident")
    assert len(api.calls) == 1  # a 404 is not retried
    sent(api, 0, "GET", url("incident"))
