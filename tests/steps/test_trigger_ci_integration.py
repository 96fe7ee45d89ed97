"""trigger_ci and wait_ci with `integration:`: a build on a registered Jenkins (a small Jenkins on
loopback, through the real hub) started once, its queue item followed to the build (the build's
id recorded, so a retry follows it), polled on a fake clock to its result; failures as the CI
steps give them."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

from app.integrations.ci.service import HubCi
from steps.base import StepContext, StepFailed
from steps.trigger_ci import TriggerCi, TriggerCiConfig
from steps.wait_ci import WaitCi, WaitCiConfig
from tests.support.ci_integrations import CiHub, ci_hub
from tests.support.clock import FakeClock
from tests.support.integrations import nothing_listening
from tests.support.jenkins import TOKEN, USER, FakeJenkins, fake_jenkins
from tests.support.steps import StepHarness

JENKINS = "jenkins-prod"


@pytest.fixture
async def jenkins() -> AsyncIterator[FakeJenkins]:
    async with fake_jenkins(jobs={"web": ["deploy"]}) as server:
        yield server


@pytest.fixture
async def ci(migrated: str, jenkins: FakeJenkins) -> AsyncIterator[CiHub]:
    async with ci_hub(migrated) as hub:
        config = {"endpoint": jenkins.url, "username": USER}
        await hub.register(JENKINS, "jenkins", config, token=TOKEN)
        yield hub


def context(harness: StepHarness, ci: CiHub | None, *, may_trigger: bool = True) -> StepContext:
    systems = HubCi(ci.hub, may_trigger=may_trigger) if ci is not None else None
    return dataclasses.replace(harness.context(), ci_systems=systems)


def trigger_config(**values: Any) -> TriggerCiConfig:
    return TriggerCiConfig.model_validate(
        {"workflow": "web/deploy", "integration": JENKINS, **values}
    )


def posts(jenkins: FakeJenkins) -> int:
    return len(jenkins.requests("POST", "/job/web/job/deploy/buildWithParameters"))


async def test_starts_the_build_once_and_follows_it_to_success(
    harness: StepHarness, ci: CiHub, jenkins: FakeJenkins, clock: FakeClock
) -> None:
    step = TriggerCi(sleep=clock.sleep, clock=clock.time)

    outputs = await step.run(
        context(harness, ci), trigger_config(inputs={"release": "web 1.4.0"}, wait=True)
    )

    build_url = f"{jenkins.url}/job/web/job/deploy/42/"
    assert outputs == {
        "run_id": "build:web/deploy#42",
        "status": "succeeded",
        "url": build_url,
        "conclusion": "SUCCESS",
        "integration": JENKINS,
    }
    assert posts(jenkins) == 1
    [post] = jenkins.requests("POST", "/job/web/job/deploy/buildWithParameters")
    assert post.form == {"release": "web 1.4.0"}
    assert harness.recorded["run_id"] == "build:web/deploy#42"  # the build, not the queue item
    assert harness.recorded["deadline"] == clock.now - 20 + 1800
    assert clock.sleeps == [10, 10]  # queued, then running, then done
    assert harness.lines[0].startswith(f"triggered web/deploy on {JENKINS}: CI run queue:")
    assert "CI run queue:web/deploy#17 is now build:web/deploy#42" in harness.lines
    assert harness.lines[-1] == f"CI run build:web/deploy#42 succeeded: {build_url}"
    assert not any(TOKEN in line for line in harness.lines)


async def test_a_retried_attempt_follows_the_recorded_build(
    harness: StepHarness, ci: CiHub, jenkins: FakeJenkins, clock: FakeClock
) -> None:
    jenkins.build_answers = [(False, "SUCCESS")]
    harness.recorded.update({"run_id": "build:web/deploy#42", "deadline": clock.now + 60})

    outputs = await TriggerCi(sleep=clock.sleep, clock=clock.time).run(
        context(harness, ci), trigger_config(wait=True)
    )

    assert outputs["status"] == "succeeded"
    assert posts(jenkins) == 0
    assert harness.lines[0] == (
        "CI run build:web/deploy#42 was triggered by an earlier attempt; following it"
    )


async def test_without_wait_the_queued_build_is_handed_to_wait_ci(
    harness: StepHarness, ci: CiHub, jenkins: FakeJenkins, clock: FakeClock
) -> None:
    jenkins.build_answers = [(False, "SUCCESS")]
    started = await TriggerCi(sleep=clock.sleep, clock=clock.time).run(
        context(harness, ci), trigger_config()
    )
    harness.recorded.clear()

    waited = await WaitCi(sleep=clock.sleep, clock=clock.time).run(
        context(harness, ci),
        WaitCiConfig.model_validate(
            {"run_id": started["run_id"], "integration": JENKINS, "poll_interval": "15s"}
        ),
    )

    assert started == {
        "run_id": "queue:web/deploy#17",
        "status": "queued",
        "url": f"{jenkins.url}/job/web/job/deploy/",
        "conclusion": None,
        "integration": JENKINS,
    }
    assert (waited["run_id"], waited["status"]) == ("build:web/deploy#42", "succeeded")
    assert harness.recorded["run_id"] == "build:web/deploy#42"
    assert clock.sleeps == [15]


async def test_a_failed_build_fails_the_step_with_its_url(
    harness: StepHarness, ci: CiHub, jenkins: FakeJenkins, clock: FakeClock
) -> None:
    jenkins.waits = 0
    jenkins.build_answers = [(False, "UNSTABLE")]

    with pytest.raises(StepFailed) as caught:
        await TriggerCi(sleep=clock.sleep, clock=clock.time).run(
            context(harness, ci), trigger_config(wait=True)
        )

    assert str(caught.value) == (
        f"CI run build:web/deploy#42 failed (UNSTABLE): {jenkins.url}/job/web/job/deploy/42/"
    )


async def test_a_job_jenkins_lacks_fails_the_trigger(
    harness: StepHarness, ci: CiHub, clock: FakeClock
) -> None:
    with pytest.raises(StepFailed, match="could not trigger web/nope: RESOURCE_NOT_FOUND"):
        await TriggerCi(sleep=clock.sleep, clock=clock.time).run(
            context(harness, ci), trigger_config(workflow="web/nope")
        )
    assert "run_id" not in harness.recorded


async def test_an_untrusted_run_may_not_start_a_build(
    harness: StepHarness, ci: CiHub, jenkins: FakeJenkins, clock: FakeClock
) -> None:
    with pytest.raises(StepFailed, match=r"PERMISSION_DENIED: .* not trusted"):
        await TriggerCi(sleep=clock.sleep, clock=clock.time).run(
            context(harness, ci, may_trigger=False), trigger_config()
        )
    assert jenkins.seen == []


async def test_without_ci_integrations_the_step_says_so(
    harness: StepHarness, clock: FakeClock
) -> None:
    with pytest.raises(StepFailed, match="offers its steps no CI integrations"):
        await TriggerCi(sleep=clock.sleep, clock=clock.time).run(
            context(harness, None), trigger_config()
        )


async def test_an_unreachable_jenkins_is_polled_through_until_the_timeout(
    harness: StepHarness, migrated: str, clock: FakeClock
) -> None:
    async with ci_hub(migrated) as ci:
        config = {"endpoint": nothing_listening(), "username": USER}
        await ci.register("jenkins-gone", "jenkins", config, token=TOKEN)
        with pytest.raises(StepFailed, match="could not be read before the timeout"):
            await WaitCi(sleep=clock.sleep, clock=clock.time).run(
                context(harness, ci),
                WaitCiConfig.model_validate(
                    {"run_id": "build:deploy#42", "integration": "jenkins-gone", "timeout": 60}
                ),
            )

    assert clock.sleeps == [10, 10, 10, 10, 10, 10]
    tries = [line for line in harness.lines if "trying again" in line]
    assert len(tries) == 7
    assert "CONNECTION_REFUSED" in tries[0]
    assert "INTEGRATION_UNHEALTHY" in tries[-1]  # the breaker opened after five failures


def test_repository_is_only_for_an_integration() -> None:
    with pytest.raises(ValidationError, match="repository is for a CI integration"):
        TriggerCiConfig.model_validate({"workflow": "ci.yml", "repository": "acme/other"})
    config = trigger_config(repository="acme/other")
    assert (config.integration, config.repository) == (JENKINS, "acme/other")
