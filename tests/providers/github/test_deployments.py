"""GitHub deployments, their statuses and a commit's open pull requests, request by request."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from app.secrets.masker import Masker
from providers.errors import ProviderError
from providers.github import GitHubClient, TokenAuth
from providers.vocabulary import Deployment, DeploymentState, PullRequest, Repo
from tests.support.clock import FakeClock
from tests.support.github import API, NOW, TOKEN, R, assert_request, sample

REPO = Repo("octo-org/shipyard-demo")
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
OTHER_SHA = "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"
LOGS = "https://shipyard.example.com/deployments/1"


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


def only_request(route: respx.Route) -> httpx.Request:
    assert route.call_count == 1
    return route.calls.last.request


def test_github_has_a_deployments_api(client: GitHubClient) -> None:
    assert client.deployments_are_statuses is False


# Creating a deployment


async def test_create_deployment_posts_exactly_the_documented_fields(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/deployments").respond(201, json=sample("deployment"))

    deployment = await client.create_deployment(
        REPO,
        ref="v1.4.0",
        sha=SHA,
        environment="staging",
        description="Release v1.4.0",
        payload={"release": "v1.4.0"},
    )

    body = {
        "ref": SHA,  # the commit, not the tag that may move
        "environment": "staging",
        "description": "Release v1.4.0",
        "payload": {"release": "v1.4.0"},
        "auto_merge": False,
        "required_contexts": [],
        "production_environment": False,
        "transient_environment": False,
    }
    assert_request(only_request(route), "POST", f"{R}/deployments", body=body)
    assert deployment == Deployment(
        id=1,
        environment="staging",
        sha=SHA,
        ref=SHA,
        url="https://api.github.com/repos/octo-org/shipyard-demo/deployments/1",
    )


@pytest.mark.parametrize(("production", "transient"), [(True, False), (False, True)])
async def test_create_deployment_says_production_and_transient(
    client: GitHubClient, api: respx.MockRouter, production: bool, transient: bool
) -> None:
    answer = sample("deployment") | {
        "environment": "pr-12",
        "production_environment": production,
        "transient_environment": transient,
    }
    route = api.post(f"{R}/deployments").respond(201, json=answer)

    deployment = await client.create_deployment(
        REPO,
        ref="refs/heads/feature/login",
        sha=SHA,
        environment="pr-12",
        production=production,
        transient=transient,
        environment_url="https://pr-12.example.com",
    )

    # No description given: none sent. The environment URL goes with the statuses: the
    # create call has no field for it.
    body = {
        "ref": SHA,
        "environment": "pr-12",
        "payload": {},
        "auto_merge": False,
        "required_contexts": [],
        "production_environment": production,
        "transient_environment": transient,
    }
    assert_request(only_request(route), "POST", f"{R}/deployments", body=body)
    assert deployment.environment == "pr-12"


async def test_create_deployment_that_github_merged_instead_is_an_error(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    # 202: GitHub merged the default branch into the ref and made no deployment.
    api.post(f"{R}/deployments").respond(202, json={"message": "Auto-merged main into topic."})

    with pytest.raises(ProviderError, match="Auto-merged main into topic"):
        await client.create_deployment(REPO, ref="topic", sha=SHA, environment="staging")


# Deployment statuses


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (DeploymentState.QUEUED, "queued"),
        (DeploymentState.IN_PROGRESS, "in_progress"),
        (DeploymentState.SUCCESS, "success"),
        (DeploymentState.FAILURE, "failure"),
        (DeploymentState.ERROR, "error"),
        (DeploymentState.INACTIVE, "inactive"),
    ],
)
async def test_set_deployment_status_posts_state_urls_and_description(
    client: GitHubClient, api: respx.MockRouter, state: DeploymentState, word: str
) -> None:
    route = api.post(f"{R}/deployments/1/statuses").respond(201, json=sample("deployment-status"))

    await client.set_deployment_status(
        REPO,
        Deployment(id=1, environment="staging", sha=SHA),
        state,
        environment_url="https://staging.example.com",
        log_url=LOGS,
        description="Release v1.4.0",
    )

    # auto_inactive is never sent: GitHub's default retires the earlier deployments.
    body = {
        "state": word,
        "environment_url": "https://staging.example.com",
        "log_url": LOGS,
        "description": "Release v1.4.0",
    }
    assert_request(only_request(route), "POST", f"{R}/deployments/1/statuses", body=body)


async def test_set_deployment_status_sends_only_what_is_given_and_cuts_descriptions(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/deployments/1/statuses").respond(201, json=sample("deployment-status"))

    await client.set_deployment_status(
        REPO, Deployment(id=1, environment="prod"), DeploymentState.FAILURE, description="d" * 150
    )

    body = {"state": "failure", "description": "d" * 139 + "…"}  # GitHub refuses over 140
    assert_request(only_request(route), "POST", f"{R}/deployments/1/statuses", body=body)


# Open pull requests of a commit


def simple_pull(number: int, *, state: str = "open", head_sha: str = SHA) -> dict[str, Any]:
    """One item of GET …/commits/{sha}/pulls: a "pull-request-simple" (no merged flag)."""
    pull: dict[str, Any] = copy.deepcopy(sample("pull"))
    for field in ("merged", "mergeable", "rebaseable", "mergeable_state", "comments", "commits"):
        pull.pop(field, None)
    pull["number"] = number
    pull["state"] = state
    pull["html_url"] = f"https://github.com/octo-org/shipyard-demo/pull/{number}"
    pull["merged_at"] = "2026-03-01T09:00:00Z" if state == "closed" else None
    pull["head"]["sha"] = head_sha
    return pull


async def test_pull_requests_for_commit_keeps_the_open_ones_of_every_page(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    page_two = f"{API}{R}/commits/{SHA}/pulls?per_page=100&page=2"
    route = api.get(f"{R}/commits/{SHA}/pulls")
    route.side_effect = [
        httpx.Response(
            200,
            json=[simple_pull(7), simple_pull(3, state="closed")],
            headers={"link": f'<{page_two}>; rel="next", <{page_two}>; rel="last"'},
        ),
        httpx.Response(200, json=[simple_pull(9, head_sha=OTHER_SHA)]),  # contains the commit
    ]

    pulls = await client.pull_requests_for_commit(REPO, SHA)

    assert route.call_count == 2
    path = f"{R}/commits/{SHA}/pulls"
    assert_request(route.calls[0].request, "GET", path, query={"per_page": "100"})
    assert_request(route.calls[1].request, "GET", path, query={"per_page": "100", "page": "2"})
    assert [pull.number for pull in pulls] == [7, 9]
    assert pulls[0] == PullRequest(
        number=7,
        title="Add login page",
        head_ref="feature/login",
        head_sha=SHA,
        base_ref="main",
        state="open",
        url="https://github.com/octo-org/shipyard-demo/pull/7",
        draft=True,
        merged=False,
        mergeable=None,  # the simple listing does not say
        from_fork=False,
        author="mira",
    )


async def test_pull_requests_for_commit_without_any_is_empty(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/commits/{SHA}/pulls").respond(200, json=[])

    assert await client.pull_requests_for_commit(REPO, SHA) == []
    assert_request(
        only_request(route), "GET", f"{R}/commits/{SHA}/pulls", query={"per_page": "100"}
    )


async def test_pull_requests_for_a_commit_only_merged_is_empty(
    client: GitHubClient, api: respx.MockRouter
) -> None:
    # On the default branch, GitHub names the merged pull request that brought the commit.
    api.get(f"{R}/commits/{SHA}/pulls").respond(200, json=[simple_pull(3, state="closed")])

    assert await client.pull_requests_for_commit(REPO, SHA) == []
