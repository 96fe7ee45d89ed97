"""Gitea / Forgejo deployments as `shipyard/deploy/<env>` statuses, and a commit's open pulls."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
import respx

from providers.errors import ValidationFailed
from providers.gitea import GiteaClient
from providers.vocabulary import Deployment, DeploymentState, PullRequest
from tests.support.gitea import REPO, R, assert_request, sample

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
OTHER_SHA = "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"
LOGS = "https://shipyard.example.com/deployments/9"


def test_gitea_deployments_are_commit_statuses(client: GiteaClient) -> None:
    assert client.deployments_are_statuses is True


# Creating a deployment: a pending status


async def test_create_deployment_sets_a_pending_shipyard_deploy_status(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json=sample("commit_statuses")[0])

    deployment = await client.create_deployment(
        REPO,
        ref="trunk",
        sha=SHA,
        environment="production",
        description="release 1.4.0",
        payload={"release": 3},
        production=True,
        transient=False,
        environment_url="https://app.example.com",
    )

    assert deployment == Deployment(
        id=f"{SHA}:production", environment="production", sha=SHA, ref="trunk"
    )
    assert route.call_count == 1
    assert_request(
        route.calls.last.request,
        "POST",
        f"{R}/statuses/{SHA}",
        body={
            "state": "pending",
            "context": "shipyard/deploy/production",
            "description": "Deployment to production is queued: release 1.4.0",
            "target_url": "https://app.example.com",
        },
    )


async def test_create_deployment_without_a_url_or_description(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json=sample("commit_statuses")[0])

    await client.create_deployment(
        REPO, ref="feature/health", sha=SHA, environment="pr-12", transient=True
    )

    assert_request(
        route.calls.last.request,
        "POST",
        f"{R}/statuses/{SHA}",
        body={
            "state": "pending",
            "context": "shipyard/deploy/pr-12",
            "description": "Deployment to pr-12 is queued",
        },
    )


# Deployment statuses: the same context, moved on


@pytest.mark.parametrize(
    ("state", "gitea_state", "words"),
    [
        (DeploymentState.QUEUED, "pending", "Deployment to production is queued"),
        (DeploymentState.IN_PROGRESS, "pending", "Deploying to production"),
        (DeploymentState.SUCCESS, "success", "Deployed to production"),
        (DeploymentState.FAILURE, "failure", "Deployment to production failed"),
        (DeploymentState.ERROR, "error", "Deployment to production errored"),
        (DeploymentState.INACTIVE, "success", "Deployment to production is no longer active"),
    ],
)
async def test_set_deployment_status_maps_state_and_prefers_the_log_url(
    client: GiteaClient,
    api: respx.MockRouter,
    state: DeploymentState,
    gitea_state: str,
    words: str,
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json=sample("commit_statuses")[0])
    deployment = Deployment(id=f"{SHA}:production", environment="production", sha=SHA)

    await client.set_deployment_status(
        REPO, deployment, state, environment_url="https://app.example.com", log_url=LOGS
    )

    assert_request(
        route.calls.last.request,
        "POST",
        f"{R}/statuses/{SHA}",
        body={
            "state": gitea_state,
            "context": "shipyard/deploy/production",
            "description": words,
            "target_url": LOGS,
        },
    )


async def test_set_deployment_status_works_from_the_stored_id_alone(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.post(f"{R}/statuses/{SHA}").respond(201, json=sample("commit_statuses")[0])

    await client.set_deployment_status(
        REPO,
        Deployment(id=f"{SHA}:eu/west", environment="eu/west"),
        DeploymentState.SUCCESS,
        environment_url="https://eu.example.com",
        description="release 1.4.0",
    )

    assert json.loads(route.calls.last.request.content) == {
        "state": "success",
        "context": "shipyard/deploy/eu/west",
        "description": "Deployed to eu/west: release 1.4.0",
        "target_url": "https://eu.example.com",
    }


async def test_set_deployment_status_refuses_an_id_it_cannot_read(client: GiteaClient) -> None:
    with pytest.raises(ValidationFailed, match="not '<sha>:<environment>'"):
        await client.set_deployment_status(
            REPO, Deployment(id=17, environment="staging"), DeploymentState.SUCCESS
        )


# Open pull requests of a commit: the open pulls whose head it is


def pull(number: int, head_sha: str = SHA, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(sample("pull_request"))
    data["number"] = number
    data["head"]["sha"] = head_sha
    return data | changes


async def test_pull_requests_for_commit_reads_every_page_of_open_pulls(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    others = [pull(n, head_sha=OTHER_SHA) for n in range(20, 69)]
    listing = api.get(f"{R}/pulls")
    listing.side_effect = [
        httpx.Response(200, json=[pull(12), *others], headers={"X-Total-Count": "52"}),
        httpx.Response(
            200, json=[pull(70, head_sha=OTHER_SHA), pull(71)], headers={"X-Total-Count": "52"}
        ),
    ]

    pulls = await client.pull_requests_for_commit(REPO, SHA)

    assert listing.call_count == 2
    for page, call in enumerate(listing.calls, start=1):
        query = {"state": "open", "page": str(page), "limit": "50"}
        assert_request(call.request, "GET", f"{R}/pulls", query=query)
    assert [found.number for found in pulls] == [12, 71]
    assert pulls[0] == PullRequest(
        number=12,
        title="Add health checks",
        head_ref="feature/health",
        head_sha=SHA,
        base_ref="trunk",
        state="open",
        url="https://gitea.example.com/harbour/shipyard-demo/pulls/12",
        draft=False,
        merged=False,
        mergeable=True,
        from_fork=False,
        author="ada",
    )


async def test_pull_requests_for_commit_skips_pulls_that_are_not_open(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    # A server that ignored `state` would list merged ones too.
    answer = [pull(3, merged=True, state="closed"), pull(4, state="closed")]
    api.get(f"{R}/pulls").respond(200, json=answer, headers={"X-Total-Count": "2"})

    assert await client.pull_requests_for_commit(REPO, SHA) == []


async def test_pull_requests_for_commit_without_any_is_empty(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{R}/pulls").respond(200, json=[], headers={"X-Total-Count": "0"})

    assert await client.pull_requests_for_commit(REPO, SHA) == []
    assert route.call_count == 1
    query = {"state": "open", "page": "1", "limit": "50"}
    assert_request(route.calls.last.request, "GET", f"{R}/pulls", query=query)
