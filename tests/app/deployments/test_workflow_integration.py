"""The workflow executor with `integration:`: a registered Jenkins (a small Jenkins on loopback,
through the real hub) gets the release as the job's parameters and is followed to its result;
a host's CI integration dispatches in its repository; the dry run, `test` and the spec."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.deployments.executors.base import DeployFailed, TargetInfo, TaskRun
from app.deployments.executors.workflow import WorkflowExecutor
from app.deployments.targets.spec import InvalidTarget, parse_connection
from app.integrations.ci.service import HubCi
from tests.support import github
from tests.support.ci_integrations import CiHub, ci_hub
from tests.support.clock import FakeClock
from tests.support.deploy_tasks import DIGESTS, TaskHarness, target
from tests.support.jenkins import TOKEN, USER, FakeJenkins, fake_jenkins

RELEASE = {  # the seven inputs of the release of tests.support.deploy_tasks.VARIABLES
    "release": "web 1.4.0",
    "release_id": "12",
    "environment": "staging",
    "target": "web-staging",
    "commit": "c" * 40,
    "digests": json.dumps(DIGESTS, sort_keys=True, separators=(",", ":")),
    "params": '{"reason":"hotfix"}',
}


@pytest.fixture
async def jenkins() -> AsyncIterator[FakeJenkins]:
    async with fake_jenkins(jobs={"web": ["deploy"]}) as server:
        yield server


@pytest.fixture
async def ci(migrated: str, jenkins: FakeJenkins) -> AsyncIterator[CiHub]:
    async with ci_hub(migrated) as hub:
        config = {"endpoint": jenkins.url, "username": USER}
        await hub.register("jenkins-prod", "jenkins", config, token=TOKEN)
        yield hub


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[TaskHarness]:
    async with httpx.AsyncClient() as http:
        yield TaskHarness(tmp_path, http)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(github.NOW)


@pytest.fixture
def workflow(clock: FakeClock) -> WorkflowExecutor:
    return WorkflowExecutor(poll_interval=15.0, sleep=clock.sleep, clock=clock.time)


def on_jenkins(**connection: Any) -> TargetInfo:
    return target(
        {"type": "workflow", "workflow": "web/deploy", "integration": "jenkins-prod", **connection}
    )


def with_ci(run: TaskRun, ci: CiHub | None) -> TaskRun:
    return dataclasses.replace(run, ci_systems=HubCi(ci.hub) if ci is not None else None)


async def test_the_job_gets_the_release_as_parameters_and_must_succeed(
    ci: CiHub,
    jenkins: FakeJenkins,
    harness: TaskHarness,
    workflow: WorkflowExecutor,
    clock: FakeClock,
) -> None:
    jenkins.forget_started = True  # only the build can be read once it started
    jenkins.build_answers = [(True, None), (True, None), (False, "SUCCESS")]

    await workflow.deploy(with_ci(harness.run(on_jenkins()), ci))

    [post] = jenkins.requests("POST", "/job/web/job/deploy/buildWithParameters")
    assert post.form == RELEASE
    assert len(jenkins.requests("GET", "/queue/item/17/api/json")) == 2  # waiting, started
    assert len(jenkins.requests("GET", "/job/web/job/deploy/42/api/json")) == 3
    build_url = f"{jenkins.url}/job/web/job/deploy/42/"
    assert harness.lines[0] == (
        "started web/deploy on jenkins-prod: CI run queue:web/deploy#17 "
        f"{jenkins.url}/job/web/job/deploy/"
    )
    assert harness.lines[-1] == f"CI run build:web/deploy#42 succeeded: {build_url}"
    assert clock.sleeps == [15.0, 15.0, 15.0]
    assert harness.providers_asked == []  # no Git host was asked for anything
    assert not harness.logged(TOKEN)


async def test_a_failed_build_fails_the_task_with_its_url(
    ci: CiHub, jenkins: FakeJenkins, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    jenkins.waits = 0
    jenkins.build_answers = [(False, "FAILURE")]

    with pytest.raises(DeployFailed) as caught:
        await workflow.deploy(with_ci(harness.run(on_jenkins()), ci))

    assert str(caught.value) == (
        f"CI run build:web/deploy#42 failed (FAILURE): {jenkins.url}/job/web/job/deploy/42/"
    )


async def test_a_build_that_outlives_the_timeout_fails_the_task(
    ci: CiHub, jenkins: FakeJenkins, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    jenkins.waits = 0
    jenkins.build_answers = [(True, None)]

    with pytest.raises(DeployFailed, match="did not finish before the timeout"):
        await workflow.deploy(with_ci(harness.run(on_jenkins(), timeout=60), ci))


async def test_a_job_jenkins_lacks_is_a_failed_start(
    ci: CiHub, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    with pytest.raises(DeployFailed, match="could not start web/nope on jenkins-prod"):
        await workflow.deploy(with_ci(harness.run(on_jenkins(workflow="web/nope")), ci))


async def test_a_dry_run_starts_nothing(
    ci: CiHub, jenkins: FakeJenkins, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    await workflow.deploy(with_ci(harness.run(on_jenkins(), dry_run=True), ci))

    assert jenkins.seen == []
    assert harness.lines == [
        "dry run: would start web/deploy on jenkins-prod",
        f"dry run: with the inputs {RELEASE}",
    ]


async def test_test_checks_the_integration(
    ci: CiHub, jenkins: FakeJenkins, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    result = await workflow.test(with_ci(harness.run(on_jenkins()), ci))
    stored = await ci.hub.integration("jenkins-prod")

    assert result.ok
    assert result.checks == [("integration", True, "integration jenkins-prod (jenkins) is healthy")]
    assert stored.health == "healthy"
    assert jenkins.requests("GET", "/me/api/json")


async def test_without_ci_integrations_the_deploy_fails_saying_so(
    harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    with pytest.raises(DeployFailed, match="CI integrations are not available here"):
        await workflow.deploy(with_ci(harness.run(on_jenkins()), None))
    result = await workflow.test(with_ci(harness.run(on_jenkins()), None))
    assert not result.ok


async def test_a_host_ci_integration_dispatches_in_its_repository(
    migrated: str, harness: TaskHarness, workflow: WorkflowExecutor
) -> None:
    run_url = "https://github.com/octo-org/shipyard-demo/actions/runs/30433651"
    dispatch = f"{github.R}/actions/workflows/deploy.yml/dispatches"
    async with ci_hub(migrated) as ci:
        config = {"repository": "octo-org/shipyard-demo"}
        await ci.register("actions", "github-actions", config, token=github.TOKEN)
        with respx.mock(base_url=github.API, assert_all_called=True) as router:
            route = router.post(dispatch).respond(200, json=github.sample("dispatch-run-details"))
            router.get(f"{github.R}/actions/runs/30433651").respond(
                200,
                json=github.sample("workflow-run")
                | {"id": 30433651, "html_url": run_url, "conclusion": "success"},
            )
            connection = {"workflow": "deploy.yml", "integration": "actions", "ref": "release"}
            await workflow.deploy(
                with_ci(harness.run(target({"type": "workflow", **connection})), ci)
            )

    github.assert_request(
        route.calls.last.request,
        "POST",
        dispatch,
        body={"ref": "release", "inputs": RELEASE, "return_run_details": True},
    )
    assert harness.lines[-1] == f"CI run octo-org/shipyard-demo#30433651 succeeded: {run_url}"


def test_a_target_names_a_host_or_an_integration_not_both() -> None:
    with pytest.raises(InvalidTarget, match="not both"):
        parse_connection(
            {"type": "workflow", "workflow": "d", "provider": "github", "integration": "ci"}
        )
    connection = parse_connection({"type": "workflow", "workflow": "d", "integration": "ci"})
    assert connection.model_dump(exclude_none=True) == {
        "type": "workflow",
        "workflow": "d",
        "integration": "ci",
    }
