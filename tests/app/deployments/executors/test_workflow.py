"""The workflow executor through the real GitHub and Gitea clients, their APIs faked at the HTTP
transport (respx): the exact dispatch request with the release as inputs, following the run
with the CI steps' polling on a fake clock, success and failure, the dry run and `test`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.deployments.executors.base import DeployFailed, NotSupported, TargetInfo
from app.deployments.executors.workflow import WorkflowExecutor, executor, workflow_paths
from app.secrets.masker import Masker
from providers.gitea import GiteaClient
from providers.github import GitHubClient, TokenAuth
from tests.support import gitea, github
from tests.support.clock import FakeClock
from tests.support.deploy_tasks import DIGESTS, TaskHarness, target

GITHUB_REPO = "octo-org/shipyard-demo"
RUN_ID = 30433651
RUN_URL = f"https://github.com/{GITHUB_REPO}/actions/runs/{RUN_ID}"
DISPATCH = f"{github.R}/actions/workflows/deploy.yml/dispatches"
INPUTS = {
    "release": "web 1.4.0",
    "release_id": "12",
    "environment": "staging",
    "target": "web-staging",
    "commit": "c" * 40,
    "digests": json.dumps(DIGESTS, sort_keys=True, separators=(",", ":")),
    "params": '{"reason":"hotfix"}',
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(github.NOW)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=github.API, assert_all_called=True) as router:
        yield router


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[GitHubClient]:
    client = GitHubClient(
        TokenAuth(github.TOKEN), mask=Masker(), retry=clock.policy(attempts=3, jitter=0.0)
    )
    yield client
    await client.aclose()


@pytest.fixture
async def harness(tmp_path: Path, hub: GitHubClient) -> AsyncIterator[TaskHarness]:
    async with httpx.AsyncClient() as http:
        yield TaskHarness(tmp_path, http, providers={"github": hub})


@pytest.fixture
def workflow(clock: FakeClock) -> WorkflowExecutor:
    return WorkflowExecutor(poll_interval=15.0, sleep=clock.sleep, clock=clock.time)


def dispatching(**connection: Any) -> TargetInfo:
    return target({"type": "workflow", "workflow": "deploy.yml", **connection})


def github_run(status: str, conclusion: str | None = None) -> httpx.Response:
    answer = github.sample("workflow-run") | {
        "id": RUN_ID,
        "html_url": RUN_URL,
        "status": status,
        "conclusion": conclusion,
    }
    return httpx.Response(200, json=answer)


async def test_dispatches_the_release_as_inputs_and_waits_for_the_run_to_succeed(
    api: respx.MockRouter, harness: TaskHarness, workflow: WorkflowExecutor, clock: FakeClock
) -> None:
    dispatch = api.post(DISPATCH).respond(200, json=github.sample("dispatch-run-details"))
    polls = api.get(f"{github.R}/actions/runs/{RUN_ID}").mock(
        side_effect=[
            github_run("queued"),
            github_run("in_progress"),
            github_run("completed", "success"),
        ]
    )

    await workflow.deploy(harness.run(dispatching(), repo=GITHUB_REPO))

    assert dispatch.call_count == 1
    github.assert_request(
        dispatch.calls.last.request,
        "POST",
        DISPATCH,
        body={"ref": "main", "inputs": INPUTS, "return_run_details": True},
    )
    assert polls.call_count == 3
    for call in polls.calls:
        github.assert_request(call.request, "GET", f"{github.R}/actions/runs/{RUN_ID}")
    assert clock.sleeps == [15.0, 15.0]
    assert harness.providers_asked == ["github"]
    assert harness.default_branch_asked == 1
    assert harness.logged(f"dispatched deploy.yml at main: CI run {RUN_ID} {RUN_URL}")
    assert harness.logged(f"CI run {RUN_ID} is running: {RUN_URL}")
    assert harness.lines[-1] == f"CI run {RUN_ID} succeeded: {RUN_URL}"
    assert not harness.logged(github.TOKEN)


@pytest.mark.parametrize(
    ("conclusion", "words"),
    [
        ("failure", f"CI run {RUN_ID} failed (failure): {RUN_URL}"),
        ("timed_out", f"CI run {RUN_ID} failed (timed_out): {RUN_URL}"),
        ("cancelled", f"CI run {RUN_ID} was cancelled: {RUN_URL}"),
    ],
)
async def test_a_run_that_does_not_succeed_fails_the_deploy_with_its_url(
    api: respx.MockRouter,
    harness: TaskHarness,
    workflow: WorkflowExecutor,
    conclusion: str,
    words: str,
) -> None:
    api.post(DISPATCH).respond(200, json=github.sample("dispatch-run-details"))
    api.get(f"{github.R}/actions/runs/{RUN_ID}").mock(
        side_effect=[github_run("in_progress"), github_run("completed", conclusion)]
    )

    with pytest.raises(DeployFailed) as caught:
        await workflow.deploy(harness.run(dispatching(), repo=GITHUB_REPO))

    assert str(caught.value) == words


async def test_the_tasks_timeout_bounds_the_wait(
    api: respx.MockRouter, harness: TaskHarness, workflow: WorkflowExecutor, clock: FakeClock
) -> None:
    api.post(DISPATCH).respond(200, json=github.sample("dispatch-run-details"))
    api.get(f"{github.R}/actions/runs/{RUN_ID}").mock(return_value=github_run("in_progress"))

    with pytest.raises(DeployFailed, match=r"did not finish before the timeout \(still running\)"):
        await workflow.deploy(harness.run(dispatching(), repo=GITHUB_REPO, timeout=40))

    assert clock.sleeps == [15.0, 15.0, 10.0]


async def test_the_connections_repository_and_ref_win(
    api: respx.MockRouter, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    path = "/repos/octo-org/deploys/actions/workflows/deploy.yml/dispatches"
    dispatch = api.post(path).respond(200, json={"workflow_run_id": 5, "html_url": "u"})
    api.get("/repos/octo-org/deploys/actions/runs/5").mock(
        return_value=httpx.Response(
            200, json={"id": 5, "status": "completed", "conclusion": "success"}
        )
    )

    await workflow.deploy(
        harness.run(dispatching(repository="octo-org/deploys", ref="release/1.x"), repo=GITHUB_REPO)
    )

    body = json.loads(dispatch.calls.last.request.content)
    assert body["ref"] == "release/1.x"
    assert body["inputs"] == INPUTS
    assert harness.default_branch_asked == 0


async def test_another_repository_is_dispatched_at_its_own_default_branch(
    api: respx.MockRouter, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    repository = api.get("/repos/octo-org/deploys").respond(
        200, json=github.sample("repository") | {"default_branch": "trunk"}
    )
    dispatch = api.post("/repos/octo-org/deploys/actions/workflows/deploy.yml/dispatches").respond(
        200, json={"workflow_run_id": 6}
    )
    api.get("/repos/octo-org/deploys/actions/runs/6").mock(
        return_value=httpx.Response(
            200, json={"id": 6, "status": "completed", "conclusion": "success"}
        )
    )

    await workflow.deploy(harness.run(dispatching(repository="octo-org/deploys"), repo=GITHUB_REPO))

    assert repository.call_count == 1
    assert json.loads(dispatch.calls.last.request.content)["ref"] == "trunk"
    assert harness.default_branch_asked == 0


async def test_a_refused_dispatch_fails_the_deploy_saying_what(
    api: respx.MockRouter, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    api.post(DISPATCH).respond(422, json={"message": 'Unexpected inputs provided: ["digests"]'})

    with pytest.raises(
        DeployFailed,
        match=r"could not dispatch deploy\.yml on octo-org/shipyard-demo at main: .*digests",
    ):
        await workflow.deploy(harness.run(dispatching(), repo=GITHUB_REPO))


async def test_a_dry_run_calls_no_host(
    api: respx.MockRouter, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    await workflow.deploy(harness.run(dispatching(), repo=GITHUB_REPO, dry_run=True))

    assert api.calls.call_count == 0
    assert harness.providers_asked == []
    assert harness.lines[0] == (
        f"dry run: would dispatch deploy.yml on {GITHUB_REPO} at its default branch"
    )
    assert harness.lines[1] == f"dry run: with the inputs {INPUTS}"


async def test_runs_no_commands(harness: TaskHarness) -> None:
    with pytest.raises(NotSupported, match="is a workflow: it runs no commands"):
        await executor.run_command(harness.run(dispatching()), "true", {})
    assert executor.type_name == "workflow"


async def test_test_reads_the_repository_and_finds_the_workflow_file(
    api: respx.MockRouter, harness: TaskHarness
) -> None:
    repository = api.get(github.R).respond(200, json=github.sample("repository"))
    path = f"{github.R}/contents/.github/workflows/deploy.yml"
    contents = api.get(path).respond(200, json=github.sample("contents-file"))

    result = await executor.test(harness.run(dispatching(), repo=GITHUB_REPO))

    assert result.ok, result.checks
    github.assert_request(repository.calls.last.request, "GET", github.R)
    github.assert_request(contents.calls.last.request, "GET", path, {"ref": "main"})
    assert result.checks[1] == ("workflow", True, ".github/workflows/deploy.yml is there at main")


async def test_test_says_when_the_workflow_file_is_missing(
    api: respx.MockRouter, harness: TaskHarness
) -> None:
    api.get(github.R).respond(200, json=github.sample("repository"))
    api.get(f"{github.R}/contents/.github/workflows/deploy.yml").respond(
        404, json={"message": "Not Found"}
    )

    result = await executor.test(harness.run(dispatching(), repo=GITHUB_REPO))

    assert not result.ok
    assert result.checks[1] == (
        "workflow",
        False,
        "none of .github/workflows/deploy.yml is there at main",
    )


def test_where_each_host_keeps_its_workflows() -> None:
    assert workflow_paths("github", "d.yml") == [".github/workflows/d.yml"]
    assert workflow_paths("gitea", "d.yml") == [".gitea/workflows/d.yml", ".github/workflows/d.yml"]
    assert workflow_paths("forgejo", "d.yml") == [
        ".forgejo/workflows/d.yml",
        ".github/workflows/d.yml",
    ]
    assert workflow_paths("gitlab", "d.yml") == [".gitlab-ci.yml"]


# Gitea


@pytest.fixture
def gitea_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=gitea.API, assert_all_called=True) as router:
        yield router


@pytest.fixture
async def gitea_harness(tmp_path: Path, clock: FakeClock) -> AsyncIterator[TaskHarness]:
    client = GiteaClient(
        f"{gitea.WEB}/", gitea.TOKEN, mask=Masker(), retry=clock.policy(attempts=3)
    )
    async with httpx.AsyncClient() as http:
        yield TaskHarness(tmp_path, http, providers={"gitea": client}, default_branch="trunk")
    await client.aclose()


def gitea_run(status: str, conclusion: str | None) -> httpx.Response:
    return httpx.Response(
        200, json=gitea.sample("workflow_run") | {"status": status, "conclusion": conclusion}
    )


async def test_gitea_dispatches_and_follows_the_run(
    gitea_api: respx.MockRouter,
    gitea_harness: TaskHarness,
    workflow: WorkflowExecutor,
    clock: FakeClock,
) -> None:
    path = f"{gitea.R}/actions/workflows/deploy.yml/dispatches"
    url = f"{gitea.WEB}/harbour/shipyard-demo/actions/runs/88"
    dispatch = gitea_api.post(path).respond(200, json={"workflow_run_id": 88, "html_url": url})
    polls = gitea_api.get(f"{gitea.R}/actions/runs/88").mock(
        side_effect=[gitea_run("running", None), gitea_run("completed", "failure")]
    )
    run = gitea_harness.run(dispatching(), repo="harbour/shipyard-demo", provider_name="gitea")

    with pytest.raises(DeployFailed) as caught:
        await workflow.deploy(run)

    gitea.assert_request(
        dispatch.calls.last.request,
        "POST",
        path,
        query={"return_run_details": "true"},
        body={"ref": "trunk", "inputs": INPUTS, "return_run_info": True},
    )
    assert polls.call_count == 2
    gitea.assert_request(polls.calls.last.request, "GET", f"{gitea.R}/actions/runs/88")
    assert clock.sleeps == [15.0]
    assert str(caught.value) == f"CI run 88 failed (failure): {url}"


async def test_gitea_test_looks_in_gitea_workflows_then_github_workflows(
    gitea_api: respx.MockRouter, gitea_harness: TaskHarness
) -> None:
    gitea_api.get(gitea.R).respond(200, json=gitea.sample("repository"))
    own = gitea_api.get(f"{gitea.R}/raw/.gitea/workflows/deploy.yml").respond(
        404, json={"message": "not found"}
    )
    shared = gitea_api.get(f"{gitea.R}/raw/.github/workflows/deploy.yml").respond(
        200, content=b"on: workflow_dispatch\n"
    )
    run = gitea_harness.run(dispatching(), repo="harbour/shipyard-demo", provider_name="gitea")

    result = await executor.test(run)

    assert result.ok, result.checks
    assert own.call_count == 1
    gitea.assert_request(
        shared.calls.last.request,
        "GET",
        f"{gitea.R}/raw/.github/workflows/deploy.yml",
        query={"ref": "trunk"},
        accept="application/octet-stream",
    )
    assert result.checks[1] == ("workflow", True, ".github/workflows/deploy.yml is there at trunk")
