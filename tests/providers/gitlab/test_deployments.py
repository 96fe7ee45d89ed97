"""GitLab deployments, their environments and a commit's open merge requests, call by call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import responses
from responses import matchers

from app.secrets.masker import Masker
from providers.errors import ValidationFailed
from providers.gitlab import GitLabClient
from providers.gitlab.translate import environment_tier
from providers.vocabulary import Deployment, DeploymentState, PullRequest, Repo
from tests.support.clock import FakeClock
from tests.support.gitlab import BASE, TOKEN, sent
from tests.support.samples import load_sample

API = f"{BASE}/api/v4"
REPO = Repo("group/sub/project")
PROJECT = f"{API}/projects/group%2Fsub%2Fproject"  # the project path, URL-encoded
SHA = "8b2a1e0f4c6d3b9a7e5f1c2d4b6a8e0f2c4d6b8a"
OTHER_SHA = "1f4e2a7c9b3d5e8f0a2c4e6b8d0f2a4c6e8b0d2f"
ENVIRONMENTS = f"{PROJECT}/environments"
DEPLOYMENTS = f"{PROJECT}/deployments"
APP_URL = "https://app.example.com"


def sample(name: str) -> Any:
    return load_sample("gitlab_api", name)


@pytest.fixture
async def client() -> AsyncIterator[GitLabClient]:
    policy = FakeClock(1_714_644_000.0).policy(attempts=3, jitter=0.0)
    provider = GitLabClient(BASE, TOKEN, mask=Masker(), retry=policy)
    yield provider
    await provider.aclose()


def environment(**changes: Any) -> dict[str, Any]:
    """GET …/environments lists environments as `environment.json` has one (production, #9)."""
    env: dict[str, Any] = sample("environment") | changes
    return env


def deployed(environment_name: str = "production", ref: str = "v1.2.0") -> dict[str, Any]:
    answer: dict[str, Any] = sample("deployment")
    return answer | {"ref": ref, "environment": {**answer["environment"], "name": environment_name}}


def test_gitlab_has_a_deployments_api(client: GitLabClient) -> None:
    assert client.deployments_are_statuses is False


# The environment comes first


async def test_a_missing_environment_is_created_with_its_url_and_tier(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{ENVIRONMENTS}?name=production", json=[])
    api.post(ENVIRONMENTS, json=environment(), status=201)
    api.get(f"{PROJECT}/repository/tags/v1.2.0", json=sample("tag"))
    api.post(DEPLOYMENTS, json=deployed(), status=201)

    deployment = await client.create_deployment(
        REPO,
        ref="v1.2.0",
        sha=SHA,
        environment="production",
        description="has no place on GitLab",
        payload={"release": "v1.2.0"},
        production=True,
        transient=True,
        environment_url=APP_URL,
    )

    sent(api, 0, "GET", f"{ENVIRONMENTS}?name=production")
    body = {"name": "production", "external_url": APP_URL, "tier": "production"}
    sent(api, 1, "POST", ENVIRONMENTS, body)
    sent(api, 2, "GET", f"{PROJECT}/repository/tags/v1.2.0")
    deployment_body = {"environment": "production", "sha": SHA, "ref": "v1.2.0", "tag": True}
    sent(api, 3, "POST", DEPLOYMENTS, {**deployment_body, "status": "running"})
    assert len(api.calls) == 4
    assert deployment == Deployment(id=42, environment="production", sha=SHA, ref="v1.2.0")


async def test_a_missing_environment_without_a_url_gets_a_tier_from_its_name(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{ENVIRONMENTS}?name=review%2Ffix-login", json=[])
    api.post(ENVIRONMENTS, json=environment(name="review/fix-login", tier="development"))
    api.post(DEPLOYMENTS, json=deployed("review/fix-login", "fix-login"), status=201)

    deployment = await client.create_deployment(
        REPO, ref="refs/heads/fix-login", sha=SHA, environment="review/fix-login", transient=True
    )

    sent(api, 0, "GET", f"{ENVIRONMENTS}?name=review%2Ffix-login")
    sent(api, 1, "POST", ENVIRONMENTS, {"name": "review/fix-login", "tier": "development"})
    body = {"environment": "review/fix-login", "sha": SHA, "ref": "fix-login", "tag": False}
    sent(api, 2, "POST", DEPLOYMENTS, {**body, "status": "running"})
    assert deployment.environment == "review/fix-login"


async def test_an_environment_at_another_url_is_moved_to_the_new_one(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{ENVIRONMENTS}?name=production", json=[environment(external_url="https://old.test")])
    api.put(f"{ENVIRONMENTS}/9", json=environment())
    api.post(DEPLOYMENTS, json=deployed(), status=201)

    await client.create_deployment(
        REPO,
        ref="refs/tags/v1.2.0",
        sha=SHA,
        environment="production",
        production=True,
        environment_url=APP_URL,
    )

    sent(api, 0, "GET", f"{ENVIRONMENTS}?name=production")
    sent(api, 1, "PUT", f"{ENVIRONMENTS}/9", {"external_url": APP_URL})  # the tier is left be
    body = {"environment": "production", "sha": SHA, "ref": "v1.2.0", "tag": True}
    sent(api, 2, "POST", DEPLOYMENTS, {**body, "status": "running"})
    assert len(api.calls) == 3


@pytest.mark.parametrize("url", [APP_URL, None])
async def test_an_environment_at_the_same_url_or_given_none_is_left_alone(
    client: GitLabClient, api: responses.RequestsMock, url: str | None
) -> None:
    api.get(f"{ENVIRONMENTS}?name=production", json=[environment()])
    api.post(DEPLOYMENTS, json=deployed(), status=201)

    await client.create_deployment(
        REPO, ref="refs/tags/v1.2.0", sha=SHA, environment="production", environment_url=url
    )

    sent(api, 0, "GET", f"{ENVIRONMENTS}?name=production")
    body = {"environment": "production", "sha": SHA, "ref": "v1.2.0", "tag": True}
    sent(api, 1, "POST", DEPLOYMENTS, {**body, "status": "running"})
    assert len(api.calls) == 2


async def test_only_the_environment_of_that_exact_name_counts(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    # A server that ignored `name` would list others: they are not this one.
    api.get(f"{ENVIRONMENTS}?name=staging", json=[environment(name="staging-eu", id=4)])
    api.post(ENVIRONMENTS, json=environment(name="staging", id=5), status=201)
    api.post(DEPLOYMENTS, json=deployed("staging"), status=201)

    await client.create_deployment(
        REPO, ref="refs/tags/v1.2.0", sha=SHA, environment="staging", environment_url=APP_URL
    )

    body = {"name": "staging", "external_url": APP_URL, "tier": "staging"}
    sent(api, 1, "POST", ENVIRONMENTS, body)


async def test_an_environment_created_meanwhile_is_used(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    # Another deployment created it between our look and our create.
    taken = {"message": {"name": ["has already been taken"]}}
    api.get(f"{ENVIRONMENTS}?name=production", json=[])
    api.post(ENVIRONMENTS, json=taken, status=400)
    api.get(f"{ENVIRONMENTS}?name=production", json=[environment(external_url=None)])
    api.put(f"{ENVIRONMENTS}/9", json=environment())
    api.post(DEPLOYMENTS, json=deployed(), status=201)

    await client.create_deployment(
        REPO,
        ref="refs/tags/v1.2.0",
        sha=SHA,
        environment="production",
        production=True,
        environment_url=APP_URL,
    )

    body = {"name": "production", "external_url": APP_URL, "tier": "production"}
    sent(api, 1, "POST", ENVIRONMENTS, body)
    sent(api, 2, "GET", f"{ENVIRONMENTS}?name=production")
    sent(api, 3, "PUT", f"{ENVIRONMENTS}/9", {"external_url": APP_URL})
    assert len(api.calls) == 5


async def test_an_environment_gitlab_refuses_stops_the_deployment(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{ENVIRONMENTS}?name=production", json=[])
    api.post(ENVIRONMENTS, json={"message": {"external_url": ["is blocked"]}}, status=400)

    with pytest.raises(ValidationFailed, match="is blocked"):
        await client.create_deployment(
            REPO, ref="v1.2.0", sha=SHA, environment="production", environment_url="http://x"
        )
    assert len(api.calls) == 2  # no deployment


@pytest.mark.parametrize(
    ("name", "production", "tier"),
    [
        ("production", True, "production"),
        ("eu-west", True, "production"),
        ("production", False, "other"),  # looking like production is not being it
        ("staging", False, "staging"),
        ("stage-2", False, "staging"),
        ("preprod", False, "staging"),
        ("Pre-Production", False, "staging"),
        ("test", False, "testing"),
        ("integration-tests", False, "testing"),
        ("qa2", False, "testing"),
        ("dev", False, "development"),
        ("development", False, "development"),
        ("review/fix-login", False, "development"),
        ("latest", False, "other"),  # a word that merely contains "test"
        ("express", False, "other"),
        ("eu-west", False, "other"),
    ],
)
def test_environment_tier(name: str, production: bool, tier: str) -> None:
    assert environment_tier(name, production=production) == tier


# Existing ways to name the ref


async def test_create_deployment_of_a_branch_asks_whether_it_is_a_tag(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(f"{ENVIRONMENTS}?name=qa", json=[environment(name="qa", tier="testing")])
    api.get(
        f"{PROJECT}/repository/tags/release%2Fv2", json={"message": "404 Tag Not Found"}, status=404
    )
    api.post(DEPLOYMENTS, json=deployed("qa", "release/v2"), status=201)

    deployment = await client.create_deployment(REPO, ref="release/v2", sha=SHA, environment="qa")

    sent(api, 1, "GET", f"{PROJECT}/repository/tags/release%2Fv2")
    body = {"environment": "qa", "sha": SHA, "ref": "release/v2", "tag": False}
    sent(api, 2, "POST", DEPLOYMENTS, {**body, "status": "running"})
    assert deployment == Deployment(id=42, environment="qa", sha=SHA, ref="release/v2")


# Deployment statuses

DEPLOYMENT = Deployment(id=42, environment="production", sha=SHA, ref="v1.2.0")


@pytest.mark.parametrize(
    ("state", "gitlab_status"),
    [
        (DeploymentState.SUCCESS, "success"),
        (DeploymentState.FAILURE, "failed"),
        (DeploymentState.ERROR, "failed"),
        (DeploymentState.INACTIVE, "canceled"),
    ],
)
async def test_set_deployment_status_puts_the_status(
    client: GitLabClient,
    api: responses.RequestsMock,
    state: DeploymentState,
    gitlab_status: str,
) -> None:
    api.put(f"{DEPLOYMENTS}/42", json={**sample("deployment"), "status": gitlab_status})

    await client.set_deployment_status(
        REPO, DEPLOYMENT, state, log_url="https://shipyard.example.com/d/3", description="x"
    )

    sent(api, 0, "PUT", f"{DEPLOYMENTS}/42", {"status": gitlab_status})
    assert len(api.calls) == 1  # log_url and description have no place in GitLab


@pytest.mark.parametrize("state", [DeploymentState.QUEUED, DeploymentState.IN_PROGRESS])
async def test_set_deployment_status_running_sends_nothing(
    client: GitLabClient, api: responses.RequestsMock, state: DeploymentState
) -> None:
    # Both are GitLab's `running`: the deployment was created running, and GitLab refuses to
    # `run` it again. Any request would find no registered answer and fail the test.
    await client.set_deployment_status(
        REPO, DEPLOYMENT, state, environment_url=APP_URL, log_url="https://x.test", description="x"
    )

    assert len(api.calls) == 0


async def test_set_deployment_status_sets_the_environment_url(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.put(f"{DEPLOYMENTS}/42", json={**sample("deployment"), "status": "success"})
    api.put(f"{ENVIRONMENTS}/9", json=sample("environment"))

    await client.set_deployment_status(
        REPO, DEPLOYMENT, DeploymentState.SUCCESS, environment_url=APP_URL
    )

    sent(api, 0, "PUT", f"{DEPLOYMENTS}/42", {"status": "success"})
    sent(api, 1, "PUT", f"{ENVIRONMENTS}/9", {"external_url": APP_URL})


async def test_set_deployment_status_leaves_an_unchanged_environment_url(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    # The deployment's answer names its environment, already at https://old.example.com.
    api.put(f"{DEPLOYMENTS}/42", json={**sample("deployment"), "status": "success"})

    await client.set_deployment_status(
        REPO, DEPLOYMENT, DeploymentState.SUCCESS, environment_url="https://old.example.com"
    )

    sent(api, 0, "PUT", f"{DEPLOYMENTS}/42", {"status": "success"})
    assert len(api.calls) == 1


async def test_set_deployment_status_already_there_is_done(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    # A deployment that succeeded cannot `succeed` again (an earlier attempt got there):
    # GitLab answers 400; reading it back shows it is there.
    api.put(f"{DEPLOYMENTS}/42", json={"message": {"status": ["is invalid"]}}, status=400)
    api.get(f"{DEPLOYMENTS}/42", json={**sample("deployment"), "status": "success"})

    await client.set_deployment_status(REPO, DEPLOYMENT, DeploymentState.SUCCESS)

    sent(api, 0, "PUT", f"{DEPLOYMENTS}/42", {"status": "success"})
    sent(api, 1, "GET", f"{DEPLOYMENTS}/42")
    assert len(api.calls) == 2


async def test_set_deployment_status_refused_raises(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    # Refused, and reading it back shows another status: a real refusal.
    api.put(f"{DEPLOYMENTS}/42", json={"message": "400 Bad request"}, status=400)
    api.get(f"{DEPLOYMENTS}/42", json={**sample("deployment"), "status": "success"})

    with pytest.raises(ValidationFailed):
        await client.set_deployment_status(REPO, DEPLOYMENT, DeploymentState.FAILURE)
    sent(api, 0, "PUT", f"{DEPLOYMENTS}/42", {"status": "failed"})
    sent(api, 1, "GET", f"{DEPLOYMENTS}/42")


# Open merge requests of a commit

COMMIT_MRS = f"{PROJECT}/repository/commits/{SHA}/merge_requests"


def merge_request(iid: int, state: str = "opened", sha: str = SHA) -> dict[str, Any]:
    mr: dict[str, Any] = sample("merge_request")
    return mr | {"iid": iid, "id": 90 + iid, "state": state, "sha": sha}


def page(number: int) -> Any:
    return matchers.query_param_matcher({"page": str(number)}, strict_match=False)


async def test_pull_requests_for_commit_keeps_the_opened_ones_of_every_page(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    first = [merge_request(7), merge_request(3, "merged"), merge_request(4, "closed")]
    api.get(COMMIT_MRS, json=first, headers={"X-Next-Page": "2"}, match=[page(1)])
    api.get(COMMIT_MRS, json=[merge_request(9, sha=OTHER_SHA)], match=[page(2)])

    pulls = await client.pull_requests_for_commit(REPO, SHA)

    sent(api, 0, "GET", f"{COMMIT_MRS}?per_page=100&page=1")
    sent(api, 1, "GET", f"{COMMIT_MRS}?per_page=100&page=2")
    assert [pull.number for pull in pulls] == [7, 9]  # 9 contains the commit below its head
    assert pulls[0] == PullRequest(
        number=7,
        title="Release v1.2.0",
        head_ref="release/v1.2.0",
        head_sha=SHA,
        base_ref="main",
        state="open",
        url="https://gitlab.example.com/group/sub/project/-/merge_requests/7",
        draft=False,
        merged=False,
        mergeable=True,
        from_fork=False,
        author="alice",
    )


async def test_pull_requests_for_commit_without_any_is_empty(
    client: GitLabClient, api: responses.RequestsMock
) -> None:
    api.get(COMMIT_MRS, json=[], headers={"X-Next-Page": ""})

    assert await client.pull_requests_for_commit(REPO, SHA) == []
    sent(api, 0, "GET", f"{COMMIT_MRS}?per_page=100&page=1")
