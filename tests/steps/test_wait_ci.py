"""wait_ci: poll a given run to its end on a fake clock; same outputs and failures as trigger_ci."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from providers.vocabulary import RunStatus, WorkflowRun
from steps.base import StepFailed
from steps.wait_ci import WaitCi, WaitCiConfig
from tests.support.clock import FakeClock
from tests.support.steps import StepHarness

URL = "https://git.example/acme/web/actions/runs/1"


def run(status: RunStatus, conclusion: str | None = None) -> WorkflowRun:
    return WorkflowRun(id=42, status=status, url=URL, conclusion=conclusion)


def config(**values: Any) -> WaitCiConfig:
    return WaitCiConfig.model_validate({"run_id": 42, **values})


@pytest.fixture
def wait(clock: FakeClock) -> WaitCi:
    return WaitCi(sleep=clock.sleep, clock=clock.time)


async def test_waits_for_the_run_and_gives_its_outputs(
    harness: StepHarness, wait: WaitCi, clock: FakeClock
) -> None:
    harness.provider.runs["42"] = [
        run(RunStatus.QUEUED),
        run(RunStatus.RUNNING),
        run(RunStatus.SUCCEEDED, "success"),
    ]

    outputs = await wait.run(harness.context(), config(poll_interval="20s"))

    assert outputs == {"run_id": 42, "status": "succeeded", "url": URL, "conclusion": "success"}
    assert clock.sleeps == [20, 20]
    assert harness.provider.triggered == []


async def test_a_string_run_id_is_passed_as_given(harness: StepHarness, wait: WaitCi) -> None:
    harness.provider.runs["42"] = [run(RunStatus.SUCCEEDED, "success")]

    outputs = await wait.run(harness.context(), config(run_id="42"))

    assert outputs["status"] == "succeeded"


@pytest.mark.parametrize(
    ("final", "words"),
    [
        (run(RunStatus.FAILED, "failure"), "CI run 42 failed (failure)"),
        (run(RunStatus.CANCELLED), "CI run 42 was cancelled"),
    ],
)
async def test_fails_with_the_url_unless_the_run_succeeds(
    harness: StepHarness, wait: WaitCi, final: WorkflowRun, words: str
) -> None:
    harness.provider.runs["42"] = [run(RunStatus.RUNNING), final]

    with pytest.raises(StepFailed) as caught:
        await wait.run(harness.context(), config())

    assert words in str(caught.value)
    assert URL in str(caught.value)


async def test_times_out_without_really_sleeping(
    harness: StepHarness, wait: WaitCi, clock: FakeClock
) -> None:
    harness.provider.runs["42"] = [run(RunStatus.QUEUED)]

    with pytest.raises(StepFailed, match=r"did not finish before the timeout \(still queued\)"):
        await wait.run(harness.context(), config(timeout="30m", poll_interval="10s"))

    assert len(clock.sleeps) == 180
    assert clock.now == 1_000_000.0 + 1800


async def test_a_retry_keeps_the_recorded_deadline(
    harness: StepHarness, wait: WaitCi, clock: FakeClock
) -> None:
    harness.provider.runs["42"] = [run(RunStatus.RUNNING)]
    with pytest.raises(StepFailed):
        await wait.run(harness.context(), config(timeout=100, poll_interval=50))
    first_deadline = harness.recorded["deadline"]

    clock.now = first_deadline - 10
    with pytest.raises(StepFailed):
        await wait.run(harness.context(attempt=2), config(timeout=100, poll_interval=50))

    assert harness.recorded["deadline"] == first_deadline
    assert clock.sleeps[-1] == 10


@pytest.mark.parametrize("bad", [{"run_id": ""}, {"run_id": "  "}, {}, {"run_id": 1, "x": 1}])
def test_config_is_checked(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WaitCiConfig.model_validate(bad)


def test_the_step_names_itself_for_the_registry() -> None:
    from steps import wait_ci

    assert wait_ci.step.type_name == "wait_ci"
    assert wait_ci.step.Config is WaitCiConfig
