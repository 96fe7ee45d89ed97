"""The GitHub client's open issues carrying a label, mocked with respx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from app.secrets.masker import Masker
from providers.errors import NotFound
from providers.github import GitHubClient, TokenAuth
from providers.vocabulary import IssueSummary, Repo
from tests.support.clock import FakeClock
from tests.support.github import API, NOW, TOKEN, R, assert_request

REPO = Repo("octo-org/shipyard-demo")
ISSUES = f"{R}/issues"
WEB = "https://github.com/octo-org/shipyard-demo"


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


def issue(number: int, title: str, body: str | None, *, pull: bool = False) -> dict[str, Any]:
    """An item of `GET …/issues`: an issue, or a pull request (it has a `pull_request` key)."""
    kind = "pull" if pull else "issues"
    item: dict[str, Any] = {
        "id": 1_000 + number,
        "node_id": f"I_kwDOAfWbYc{number}",
        "url": f"{API}{R}/issues/{number}",
        "html_url": f"{WEB}/{kind}/{number}",
        "number": number,
        "state": "open",
        "title": title,
        "body": body,
        "user": {"login": "mira", "id": 7, "type": "User"},
        "labels": [{"id": 208045946, "name": "incident", "color": "d73a4a", "default": False}],
        "comments": 0,
        "created_at": f"2026-03-02T0{number % 10}:00:00Z",
        "updated_at": "2026-03-02T09:30:00Z",
        "closed_at": None,
        "author_association": "MEMBER",
    }
    if pull:
        item["pull_request"] = {
            "url": f"{API}{R}/pulls/{number}",
            "html_url": f"{WEB}/pull/{number}",
            "diff_url": f"{WEB}/pull/{number}.diff",
            "patch_url": f"{WEB}/pull/{number}.patch",
            "merged_at": None,
        }
    return item


def query(label: str) -> dict[str, str]:
    return {"state": "open", "labels": label, "per_page": "100"}


async def test_open_issues_with_the_label_are_mapped(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    answer = [issue(9, "Checkout is down", "Errors since 09:12."), issue(4, "Slow search", None)]
    route = api.get(ISSUES).respond(200, json=answer)

    found = await client.labelled_issues(REPO, "incident")

    assert found == [
        IssueSummary(9, "Checkout is down", "Errors since 09:12.", f"{WEB}/issues/9"),
        IssueSummary(4, "Slow search", "", f"{WEB}/issues/4"),
    ]
    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", ISSUES, query("incident"))


async def test_pull_requests_are_left_out(client: GitHubClient, api: respx.MockRouter) -> None:
    answer = [
        issue(12, "Roll back the cache change", "", pull=True),
        issue(9, "Checkout is down", "Errors since 09:12."),
        issue(8, "Hotfix for checkout", "Fixes #9", pull=True),
    ]
    route = api.get(ISSUES).respond(200, json=answer)

    found = await client.labelled_issues(REPO, "incident")

    assert [summary.number for summary in found] == [9]
    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", ISSUES, query("incident"))


async def test_no_issues_is_an_empty_list(client: GitHubClient, api: respx.MockRouter) -> None:
    route = api.get(ISSUES).respond(200, json=[])

    assert await client.labelled_issues(REPO, "incident") == []

    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", ISSUES, query("incident"))


@pytest.mark.parametrize(
    ("label", "encoded"),
    [
        ("deploy freeze", "deploy+freeze"),
        ("sev:1 & c++", "sev%3A1+%26+c%2B%2B"),
    ],
    ids=["a-space", "reserved-characters"],
)
async def test_the_label_is_sent_url_encoded(
    client: GitHubClient, api: respx.MockRouter, label: str, encoded: str
) -> None:
    route = api.get(ISSUES).respond(200, json=[issue(9, "Checkout is down", "")])

    assert [summary.number for summary in await client.labelled_issues(REPO, label)] == [9]

    request = route.calls.last.request
    assert f"labels={encoded}&" in request.url.query.decode()
    assert_request(request, "GET", ISSUES, query(label))


async def test_a_missing_repository_is_not_found(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(ISSUES).mock(
        return_value=httpx.Response(404, json={"message": "Not Found", "status": "404"})
    )
    with pytest.raises(NotFound, match=r"GET /repos/octo-org/shipyard-demo/issues"):
        await client.labelled_issues(REPO, "incident")
    assert route.call_count == 1  # a 404 is not retried
    assert_request(route.calls.last.request, "GET", ISSUES, query("incident"))
