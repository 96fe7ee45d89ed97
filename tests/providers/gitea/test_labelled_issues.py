"""The Gitea / Forgejo client's open issues carrying a label (respx)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from providers.errors import NotFound
from providers.gitea import GiteaClient
from providers.vocabulary import IssueSummary
from tests.support.gitea import REPO, WEB, R, assert_request

ISSUES = f"{R}/issues"
HTML = f"{WEB}/harbour/shipyard-demo/issues"


def label(name: str) -> dict[str, Any]:
    return {"id": len(name), "name": name, "exclusive": False, "color": "e11d21", "url": ""}


def issue(
    number: int, title: str, body: str, labels: tuple[str, ...] = ("incident",)
) -> dict[str, Any]:
    """An Issue as `GET …/issues` lists it (`pull_request` is null: not a pull request)."""
    return {
        "id": 500 + number,
        "url": f"{WEB}/api/v1{R}/issues/{number}",
        "html_url": f"{HTML}/{number}",
        "number": number,
        "user": {"id": 3, "login": "mira", "full_name": "", "email": ""},
        "original_author": "",
        "title": title,
        "body": body,
        "ref": "",
        "labels": [label(name) for name in labels],
        "milestone": None,
        "assignees": None,
        "state": "open",
        "is_locked": False,
        "comments": 0,
        "created_at": f"2025-06-15T0{number % 10}:00:00Z",
        "updated_at": "2025-06-15T10:00:00Z",
        "closed_at": None,
        "due_date": None,
        "pull_request": None,
        "repository": {"id": 1, "name": "shipyard-demo", "owner": "harbour"},
        "pin_order": 0,
    }


def page(number: int, label_name: str = "incident") -> dict[str, str]:
    return {
        "state": "open",
        "type": "issues",
        "labels": label_name,
        "page": str(number),
        "limit": "50",
    }


async def test_open_issues_with_the_label_are_mapped(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    answer = [
        issue(9, "Checkout is down", "Errors since 09:12.", ("incident", "sev/1")),
        issue(4, "Slow search", ""),
    ]
    route = api.get(ISSUES).respond(200, json=answer, headers={"X-Total-Count": "2"})

    found = await client.labelled_issues(REPO, "incident")

    assert found == [
        IssueSummary(9, "Checkout is down", "Errors since 09:12.", f"{HTML}/9"),
        IssueSummary(4, "Slow search", "", f"{HTML}/4"),
    ]
    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", ISSUES, query=page(1))


async def test_no_issues_is_an_empty_list(client: GiteaClient, api: respx.MockRouter) -> None:
    route = api.get(ISSUES).respond(200, json=[], headers={"X-Total-Count": "0"})

    assert await client.labelled_issues(REPO, "incident") == []

    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", ISSUES, query=page(1))


async def test_issues_without_the_label_are_left_out(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    """Gitea drops a label the repository does not define from its filter, and then lists
    every open issue: only those that carry the label (in any letter case) are kept."""
    answer = [
        issue(9, "Checkout is down", "", ("Incident",)),
        issue(7, "Tidy the README", "", ("docs",)),
        issue(5, "Flaky test", "", ()),
    ]
    route = api.get(ISSUES).respond(200, json=answer, headers={"X-Total-Count": "3"})

    found = await client.labelled_issues(REPO, "incident")

    assert [summary.number for summary in found] == [9]
    assert route.call_count == 1
    assert_request(route.calls.last.request, "GET", ISSUES, query=page(1))


async def test_at_most_two_pages_are_read(client: GiteaClient, api: respx.MockRouter) -> None:
    """120 open issues carry the label: the newest 100 come back, and no third page is asked."""
    total = {"X-Total-Count": "120"}
    route = api.get(ISSUES)
    route.side_effect = [
        httpx.Response(
            200, json=[issue(n, f"Issue {n}", "") for n in range(120, 70, -1)], headers=total
        ),
        httpx.Response(
            200, json=[issue(n, f"Issue {n}", "") for n in range(70, 20, -1)], headers=total
        ),
        httpx.Response(
            200, json=[issue(n, f"Issue {n}", "") for n in range(20, 0, -1)], headers=total
        ),
    ]

    found = await client.labelled_issues(REPO, "incident")

    assert [summary.number for summary in found] == list(range(120, 20, -1))
    assert route.call_count == 2
    assert_request(route.calls[0].request, "GET", ISSUES, query=page(1))
    assert_request(route.calls[1].request, "GET", ISSUES, query=page(2))


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("deploy freeze", "deploy+freeze"),
        ("sev/1 & c++", "sev%2F1+%26+c%2B%2B"),
    ],
    ids=["a-space", "reserved-characters"],
)
async def test_the_label_is_sent_url_encoded(
    client: GiteaClient, api: respx.MockRouter, name: str, encoded: str
) -> None:
    answer = [issue(9, "Checkout is down", "", (name,))]
    route = api.get(ISSUES).respond(200, json=answer, headers={"X-Total-Count": "1"})

    assert [summary.number for summary in await client.labelled_issues(REPO, name)] == [9]

    request = route.calls.last.request
    assert f"labels={encoded}&" in request.url.query.decode()
    assert_request(request, "GET", ISSUES, query=page(1, name))


async def test_a_missing_repository_is_not_found(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(ISSUES).respond(404, json={"message": "The target couldn't be found."})
    with pytest.raises(NotFound, match="The target couldn't be found"):
        await client.labelled_issues(REPO, "incident")
    assert route.call_count == 1  # a 404 is not retried
    assert_request(route.calls.last.request, "GET", ISSUES, query=page(1))
