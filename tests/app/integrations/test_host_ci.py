"""The hosts' CI as integrations, through the real provider clients, the hosts' APIs faked at
the transport (respx for GitHub and Gitea, `responses` under python-gitlab): the documented
dispatch / pipeline requests, reading runs by `<repository>#<run>`, discovering workflows and
pipelines, the checks, and the hosts' errors in the hub's taxonomy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import responses
import respx

from app.integrations.ci.hosts import (
    GiteaActionsConfig,
    GitHubActionsConfig,
    GitLabCiConfig,
    HostCiConnector,
)
from app.integrations.ci.service import HubCi
from app.integrations.connector import ConnectorContext, ProviderConfig
from app.integrations.errors import IntegrationError
from app.integrations.scm import HostKind
from steps.integrations import CiRun, CiTrigger, IntegrationFailed
from tests.support import gitea, github, gitlab
from tests.support.ci_integrations import ci_hub
from tests.support.samples import load_sample

GITHUB_REPO = "octo-org/shipyard-demo"
RUN_ID = 30433651
RUN_URL = f"https://github.com/{GITHUB_REPO}/actions/runs/{RUN_ID}"
DISPATCH = f"{github.R}/actions/workflows/deploy.yml/dispatches"
GITLAB_API = f"{gitlab.BASE}/api/v4"
PROJECT = f"{GITLAB_API}/projects/group%2Fsub%2Fproject"
PIPELINE_URL = "https://gitlab.example.com/group/sub/project/-/pipelines/287"
INPUTS = {"release": "web 1.4.0", "environment": "staging"}


def connector(
    http: httpx.AsyncClient, kind: HostKind, config: ProviderConfig, token: str
) -> HostCiConnector:
    async def resolve(reference: str) -> str:
        assert reference == "env://CI_TOKEN"
        return token

    context = ConnectorContext("ci", config, "env://CI_TOKEN", http, resolve)
    return HostCiConnector(context, kind)


def actions(http: httpx.AsyncClient, **config: Any) -> HostCiConnector:
    values = {"repository": GITHUB_REPO, **config}
    return connector(http, "github", GitHubActionsConfig(**values), github.TOKEN)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=github.API, assert_all_called=True) as router:
        yield router


def github_run(status: str, conclusion: str | None = None) -> dict[str, Any]:
    return github.sample("workflow-run") | {
        "id": RUN_ID,
        "html_url": RUN_URL,
        "status": status,
        "conclusion": conclusion,
    }


# GitHub Actions


async def test_github_dispatches_at_the_default_branch_and_names_the_run(
    http: httpx.AsyncClient, api: respx.MockRouter
) -> None:
    repository = api.get(github.R).respond(200, json=github.sample("repository"))
    dispatch = api.post(DISPATCH).respond(200, json=github.sample("dispatch-run-details"))

    run = await actions(http).trigger(CiTrigger("deploy.yml", inputs=INPUTS))

    github.assert_request(repository.calls.last.request, "GET", github.R)
    github.assert_request(
        dispatch.calls.last.request,
        "POST",
        DISPATCH,
        body={"ref": "main", "inputs": INPUTS, "return_run_details": True},
    )
    assert run == CiRun("ci", f"{GITHUB_REPO}#{RUN_ID}", "queued", RUN_URL)


async def test_github_dispatches_at_the_ref_given_in_another_repository(
    http: httpx.AsyncClient, api: respx.MockRouter
) -> None:
    other = "/repos/octo-org/other/actions/workflows/deploy.yml/dispatches"
    dispatch = api.post(other).respond(200, json=github.sample("dispatch-run-details"))

    run = await actions(http).trigger(
        CiTrigger("deploy.yml", ref="v1.4.0", repository="octo-org/other")
    )

    github.assert_request(
        dispatch.calls.last.request,
        "POST",
        other,
        body={"ref": "v1.4.0", "inputs": {}, "return_run_details": True},
    )
    assert run.id == f"octo-org/other#{RUN_ID}"


async def test_github_reads_a_run_by_its_id_or_in_the_default_repository(
    http: httpx.AsyncClient, api: respx.MockRouter
) -> None:
    route = api.get(f"{github.R}/actions/runs/{RUN_ID}").mock(
        side_effect=[
            httpx.Response(200, json=github_run("in_progress")),
            httpx.Response(200, json=github_run("completed", "failure")),
        ]
    )
    ci = actions(http)

    running = await ci.read(f"{GITHUB_REPO}#{RUN_ID}")
    failed = await ci.read(str(RUN_ID))

    for call in route.calls:
        github.assert_request(call.request, "GET", f"{github.R}/actions/runs/{RUN_ID}")
    assert running == CiRun("ci", f"{GITHUB_REPO}#{RUN_ID}", "running", RUN_URL)
    assert failed == CiRun("ci", f"{GITHUB_REPO}#{RUN_ID}", "failed", RUN_URL, "failure")


async def test_github_discovers_the_repository_workflows_by_file(
    http: httpx.AsyncClient, api: respx.MockRouter
) -> None:
    workflows = [
        {
            "id": 161335,
            "name": "CI",
            "path": ".github/workflows/ci.yml",
            "state": "active",
            "html_url": f"https://github.com/{GITHUB_REPO}/blob/main/.github/workflows/ci.yml",
        },
        {
            "id": 161336,
            "name": "Deploy",
            "path": ".github/workflows/deploy.yml",
            "state": "disabled_manually",
            "html_url": f"https://github.com/{GITHUB_REPO}/blob/main/.github/workflows/deploy.yml",
        },
    ]
    route = api.get(f"{github.R}/actions/workflows").respond(
        200, json={"total_count": 2, "workflows": workflows}
    )

    found = await actions(http).discover("pipelines", {})

    github.assert_request(
        route.calls.last.request, "GET", f"{github.R}/actions/workflows", {"per_page": "100"}
    )
    assert [(r.type, r.name, r.id) for r in found] == [
        ("pipelines", "ci.yml", "161335"),
        ("pipelines", "deploy.yml", "161336"),
    ]
    assert found[1].details == {
        "name": "Deploy",
        "path": ".github/workflows/deploy.yml",
        "state": "disabled_manually",
    }


async def test_github_checks_reach_sign_in_and_read_the_repository(
    http: httpx.AsyncClient, api: respx.MockRouter
) -> None:
    root = api.get("/").respond(200, json={"current_user_url": f"{github.API}/user"})
    api.get("/user").respond(200, json={"login": "shipyard-bot", "id": 1, "type": "User"})
    api.get(github.R).respond(200, json=github.sample("repository"))
    ci = actions(http)

    assert await ci.check("connectivity") == f"{github.API} answers (200)"
    assert "authorization" not in root.calls.last.request.headers
    assert await ci.check("authentication") == "signed in as shipyard-bot"
    assert await ci.check("functionality") == f"reads {GITHUB_REPO} (default branch main)"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "AUTHENTICATION_FAILED"),
        (403, "PERMISSION_DENIED"),
        (404, "RESOURCE_NOT_FOUND"),
        (422, "INVALID_CONFIG"),
    ],
)
async def test_github_errors_are_the_hubs_codes_without_the_token(
    http: httpx.AsyncClient, api: respx.MockRouter, status: int, code: str
) -> None:
    api.post(DISPATCH).respond(status, json={"message": f"echo {github.TOKEN}"})

    with pytest.raises(IntegrationError) as caught:
        await actions(http).trigger(CiTrigger("deploy.yml", ref="main"))

    assert caught.value.code == code
    assert github.TOKEN not in str(caught.value)


async def test_a_run_needs_a_repository(http: httpx.AsyncClient) -> None:
    ci = connector(http, "github", GitHubActionsConfig(), github.TOKEN)
    with pytest.raises(IntegrationError, match="names no repository") as caught:
        await ci.trigger(CiTrigger("deploy.yml", ref="main"))
    assert caught.value.code == "INVALID_CONFIG"


# GitLab CI (python-gitlab, so `responses`)


def gitlab_ci(http: httpx.AsyncClient) -> HostCiConnector:
    config = GitLabCiConfig(endpoint=gitlab.BASE, repository="group/sub/project")
    return connector(http, "gitlab", config, gitlab.TOKEN)


async def test_gitlab_runs_the_pipeline_with_variables_and_reads_it(
    http: httpx.AsyncClient,
) -> None:
    pipeline = load_sample("gitlab_api", "pipeline")
    with responses.RequestsMock() as mock:  # fails the test if an answer is left unused
        mock.post(f"{PROJECT}/pipeline", json=pipeline, status=201)
        mock.get(f"{PROJECT}/pipelines/287", json={**pipeline, "status": "success"})
        ci = gitlab_ci(http)
        started = await ci.trigger(CiTrigger("ignored.yml", ref="main", inputs=INPUTS))
        finished = await ci.read(started.id)

        variables = [
            {"key": key, "value": value, "variable_type": "env_var"}
            for key, value in INPUTS.items()
        ]
        body = {"ref": "main", "variables": variables}
        gitlab.sent(mock, 0, "POST", f"{PROJECT}/pipeline", body)
        gitlab.sent(mock, 1, "GET", f"{PROJECT}/pipelines/287")
    assert started == CiRun("ci", "group/sub/project#287", "queued", PIPELINE_URL, "pending")
    assert finished == CiRun("ci", "group/sub/project#287", "succeeded", PIPELINE_URL, "success")


async def test_gitlab_runs_at_the_default_branch_when_no_ref_is_given(
    http: httpx.AsyncClient,
) -> None:
    with responses.RequestsMock() as mock:
        mock.get(PROJECT, json={**load_sample("gitlab_api", "project"), "default_branch": "trunk"})
        mock.post(f"{PROJECT}/pipeline", json=load_sample("gitlab_api", "pipeline"), status=201)
        await gitlab_ci(http).trigger(CiTrigger("ignored.yml"))

        gitlab.sent(mock, 0, "GET", PROJECT)
        gitlab.sent(mock, 1, "POST", f"{PROJECT}/pipeline", {"ref": "trunk"})


async def test_gitlab_discovers_the_newest_pipelines_as_run_ids(http: httpx.AsyncClient) -> None:
    pipelines = [
        {
            "id": 288,
            "iid": 145,
            "status": "running",
            "ref": "main",
            "sha": "a" * 40,
            "source": "push",
            "web_url": "https://gitlab.example.com/group/sub/project/-/pipelines/288",
        },
        {**load_sample("gitlab_api", "pipeline")},
    ]
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{PROJECT}/pipelines").respond(200, json=pipelines)
        found = await gitlab_ci(http).discover("pipelines", {})

    request = route.calls.last.request
    assert request.url.raw_path == b"/api/v4/projects/group%2Fsub%2Fproject/pipelines?per_page=20"
    assert request.headers["private-token"] == gitlab.TOKEN
    assert [(r.name, r.id, r.url) for r in found] == [
        ("#288 on main", "group/sub/project#288", pipelines[0]["web_url"]),
        ("#287 on main", "group/sub/project#287", PIPELINE_URL),
    ]
    assert found[0].details == {
        "status": "running",
        "ref": "main",
        "sha": "a" * 40,
        "source": "push",
    }


async def test_gitlab_connectivity_takes_a_401_as_reachable(http: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{GITLAB_API}/version").respond(401, json={"message": "401 Unauthorized"})
        assert await gitlab_ci(http).check("connectivity") == f"{GITLAB_API} answers (401)"


# Gitea Actions


def gitea_actions(http: httpx.AsyncClient) -> HostCiConnector:
    config = GiteaActionsConfig(endpoint=gitea.API, repository=gitea.REPO.full_name)
    return connector(http, "gitea", config, gitea.TOKEN)


async def test_gitea_dispatches_and_follows_the_run(http: httpx.AsyncClient) -> None:
    dispatch_path = f"{gitea.R}/actions/workflows/deploy.yml/dispatches"
    with respx.mock(base_url=gitea.API, assert_all_called=True) as router:
        dispatch = router.post(dispatch_path).respond(
            200,
            json={
                "workflow_run_id": 88,
                "html_url": f"{gitea.WEB}/harbour/shipyard-demo/actions/runs/88",
                "run_url": f"{gitea.API}{gitea.R}/actions/runs/88",
            },
        )
        read = router.get(f"{gitea.R}/actions/runs/88").respond(
            200, json=gitea.sample("workflow_run")
        )
        ci = gitea_actions(http)
        started = await ci.trigger(CiTrigger("deploy.yml", ref="trunk", inputs=INPUTS))
        finished = await ci.read(started.id)

    gitea.assert_request(
        dispatch.calls.last.request,
        "POST",
        dispatch_path,
        query={"return_run_details": "true"},
        body={"ref": "trunk", "inputs": INPUTS, "return_run_info": True},
    )
    gitea.assert_request(read.calls.last.request, "GET", f"{gitea.R}/actions/runs/88")
    url = f"{gitea.WEB}/harbour/shipyard-demo/actions/runs/88"
    assert started == CiRun("ci", "harbour/shipyard-demo#88", "queued", url)
    assert finished == CiRun("ci", "harbour/shipyard-demo#88", "succeeded", url, "success")


async def test_gitea_discovers_workflows_and_reaches_its_version(http: httpx.AsyncClient) -> None:
    workflows = {
        "total_count": 1,
        "workflows": [
            {
                "id": "deploy.yml",
                "name": "deploy.yml",
                "path": ".gitea/workflows/deploy.yml",
                "state": "active",
                "html_url": f"{gitea.WEB}/harbour/shipyard-demo/actions?workflow=deploy.yml",
            }
        ],
    }
    with respx.mock(base_url=gitea.API, assert_all_called=True) as router:
        listing = router.get(f"{gitea.R}/actions/workflows").respond(200, json=workflows)
        router.get("/version").respond(200, json={"version": "1.24.2"})
        ci = gitea_actions(http)
        found = await ci.discover("pipelines", {})
        reached = await ci.check("connectivity")

    gitea.assert_request(listing.calls.last.request, "GET", f"{gitea.R}/actions/workflows")
    assert [(r.name, r.id) for r in found] == [("deploy.yml", "deploy.yml")]
    assert reached == f"{gitea.API} answers (200)"


def test_gitea_needs_its_server_url() -> None:
    with pytest.raises(ValueError, match="endpoint is required"):
        GiteaActionsConfig(repository="harbour/web")


def test_a_repository_is_owner_and_name() -> None:
    with pytest.raises(ValueError, match="is not owner/name"):
        GitHubActionsConfig(repository="just-a-name")


# Through the hub


async def test_through_the_hub_a_missing_run_fails_with_its_code(migrated: str) -> None:
    async with ci_hub(migrated) as ci:
        await ci.register(
            "actions", "github-actions", {"repository": GITHUB_REPO}, token=github.TOKEN
        )
        with respx.mock(base_url=github.API, assert_all_called=True) as router:
            router.post(DISPATCH).respond(200, json=github.sample("dispatch-run-details"))
            router.get(f"{github.R}/actions/runs/{RUN_ID}").respond(
                200, json=github_run("completed", "success")
            )
            router.get(f"{github.R}/actions/runs/1").respond(404, json={"message": "Not Found"})
            systems = HubCi(ci.hub)
            started = await systems.trigger("actions", CiTrigger("deploy.yml", ref="main"))
            finished = await systems.read("actions", started.id)
            with pytest.raises(IntegrationFailed) as caught:
                await systems.read("actions", "1")

    assert (started.integration, started.id) == ("actions", f"{GITHUB_REPO}#{RUN_ID}")
    assert (finished.status, finished.conclusion) == ("succeeded", "success")
    assert caught.value.code == "RESOURCE_NOT_FOUND"
    assert "integration actions" in str(caught.value)
    assert ci.sleeps == []


async def test_the_hub_refuses_a_non_ci_integration_as_a_ci_system(migrated: str) -> None:
    async with ci_hub(migrated) as ci:
        await ci.register("source", "github", {}, token=github.TOKEN)
        with pytest.raises(IntegrationFailed, match="not a ci one") as caught:
            await HubCi(ci.hub).read("source", "1")
    assert caught.value.code == "INVALID_CONFIG"


async def test_an_untrusted_run_may_read_but_not_trigger(migrated: str) -> None:
    async with ci_hub(migrated) as ci:
        with pytest.raises(IntegrationFailed, match="not trusted") as caught:
            await HubCi(ci.hub, may_trigger=False).trigger("actions", CiTrigger("deploy.yml"))
    assert caught.value.code == "PERMISSION_DENIED"
