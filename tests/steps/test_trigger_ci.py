"""trigger_ci: trigger once, record the run at once, wait on a fake clock, fail with the URL."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from providers.errors import NotFound, ProviderError, RateLimited, ServerError
from providers.vocabulary import Repo, RunStatus, WorkflowRun
from steps.base import StepFailed
from steps.ci import poll_run
from steps.trigger_ci import TriggerCi, TriggerCiConfig
from tests.support.clock import FakeClock
from tests.support.steps import RecordingProvider, StepHarness

URL = "https://git.example/acme/web/actions/runs/1"


def run(status: RunStatus, conclusion: str | None = None, run_id: int = 1) -> WorkflowRun:
    return WorkflowRun(id=run_id, status=status, url=URL, conclusion=conclusion)


def config(**values: Any) -> TriggerCiConfig:
    return TriggerCiConfig.model_validate({"workflow": "ci.yml", **values})


@pytest.fixture
def trigger(clock: FakeClock) -> TriggerCi:
    return TriggerCi(sleep=clock.sleep, clock=clock.time)


async def test_triggers_at_the_run_branch_and_records_the_run_id(
    harness: StepHarness, trigger: TriggerCi, clock: FakeClock
) -> None:
    harness.provider.runs["1"] = [run(RunStatus.QUEUED)]

    outputs = await trigger.run(harness.context(), config(inputs={"suite": "full"}))

    assert harness.provider.triggered == [("ci.yml", "feature", {"suite": "full"})]
    assert harness.recorded["run_id"] == 1
    assert outputs == {"run_id": 1, "status": "queued", "url": URL, "conclusion": None}
    assert clock.sleeps == []


async def test_explicit_ref_wins_and_the_sha_is_the_last_resort(
    harness: StepHarness, trigger: TriggerCi
) -> None:
    harness.provider.runs["1"] = [run(RunStatus.QUEUED)]
    harness.provider.runs["2"] = [run(RunStatus.QUEUED, run_id=2)]
    await trigger.run(harness.context(), config(ref="refs/tags/v1.2.0"))
    ctx = harness.context()
    no_ref = dataclasses.replace(ctx, run=dataclasses.replace(ctx.run, ref=None), recorded={})
    await trigger.run(no_ref, config())

    assert [ref for _, ref, _ in harness.provider.triggered] == ["v1.2.0", "a" * 40]


async def test_wait_polls_until_the_run_succeeds(
    harness: StepHarness, trigger: TriggerCi, clock: FakeClock
) -> None:
    harness.provider.runs["1"] = [
        run(RunStatus.QUEUED),
        run(RunStatus.QUEUED),
        run(RunStatus.RUNNING),
        run(RunStatus.SUCCEEDED, "success"),
    ]

    outputs = await trigger.run(harness.context(), config(wait=True, poll_interval=15))

    assert outputs == {"run_id": 1, "status": "succeeded", "url": URL, "conclusion": "success"}
    assert clock.sleeps == [15, 15, 15]  # queued, queued, running, then succeeded
    assert len(harness.provider.triggered) == 1
    assert any("is running" in line for line in harness.lines)
    assert harness.recorded["deadline"] == 1_000_000.0 + 1800


@pytest.mark.parametrize(
    ("final", "words"),
    [
        (run(RunStatus.FAILED, "failure"), "failed (failure)"),
        (run(RunStatus.CANCELLED, "cancelled"), "was cancelled"),
    ],
)
async def test_wait_fails_with_the_run_url_when_ci_does_not_succeed(
    harness: StepHarness, trigger: TriggerCi, final: WorkflowRun, words: str
) -> None:
    harness.provider.runs["1"] = [run(RunStatus.QUEUED), run(RunStatus.RUNNING), final]

    with pytest.raises(StepFailed) as caught:
        await trigger.run(harness.context(), config(wait=True))

    assert words in str(caught.value)
    assert URL in str(caught.value)
    assert harness.recorded["run_id"] == 1  # recorded before waiting


async def test_wait_times_out_on_the_fake_clock(
    harness: StepHarness, trigger: TriggerCi, clock: FakeClock
) -> None:
    harness.provider.runs["1"] = [run(RunStatus.RUNNING)]

    with pytest.raises(StepFailed, match="did not finish before the timeout") as caught:
        await trigger.run(harness.context(), config(wait=True, timeout="1m", poll_interval=25))

    assert URL in str(caught.value)
    assert clock.sleeps == [25, 25, 10]  # the last sleep stops at the deadline
    assert clock.now == 1_000_000.0 + 60


async def test_a_retry_follows_the_recorded_run_instead_of_triggering_again(
    harness: StepHarness, trigger: TriggerCi, clock: FakeClock
) -> None:
    harness.provider.runs["1"] = [run(RunStatus.RUNNING)]
    with pytest.raises(StepFailed):
        await trigger.run(harness.context(), config(wait=True, timeout=30, poll_interval=10))
    assert len(harness.provider.triggered) == 1

    harness.provider.runs["1"] = [run(RunStatus.RUNNING), run(RunStatus.SUCCEEDED, "success")]
    clock.now = harness.recorded["deadline"] - 30  # the retry runs before the first deadline
    outputs = await trigger.run(
        harness.context(attempt=2), config(wait=True, timeout=30, poll_interval=10)
    )

    assert len(harness.provider.triggered) == 1
    assert outputs["status"] == "succeeded"
    assert any("earlier attempt" in line for line in harness.lines)


async def test_a_retry_keeps_the_first_attempts_deadline(
    harness: StepHarness, trigger: TriggerCi, clock: FakeClock
) -> None:
    harness.recorded.update(run_id=1, deadline=clock.now - 1)
    harness.provider.runs["1"] = [run(RunStatus.RUNNING)]

    with pytest.raises(StepFailed, match="timeout"):
        await trigger.run(harness.context(attempt=2), config(wait=True, timeout=3600))

    assert harness.provider.triggered == []
    assert clock.sleeps == []


async def test_a_retry_without_wait_reports_the_recorded_run(
    harness: StepHarness, trigger: TriggerCi
) -> None:
    harness.recorded["run_id"] = 1
    harness.provider.runs["1"] = [run(RunStatus.RUNNING)]

    outputs = await trigger.run(harness.context(attempt=2), config())

    assert harness.provider.triggered == []
    assert outputs == {"run_id": 1, "status": "running", "url": URL, "conclusion": None}


class FlakyProvider(RecordingProvider):
    """Answers with the given errors first, then like RecordingProvider."""

    def __init__(
        self,
        trigger_error: Exception | None = None,
        poll_errors: int = 0,
        poll_error: type[ProviderError] = ServerError,
    ) -> None:
        super().__init__()
        self.trigger_error = trigger_error
        self.poll_errors = poll_errors
        self.poll_error = poll_error

    async def trigger_workflow(
        self, repo: Repo, workflow: str, ref: str, inputs: Any = None
    ) -> WorkflowRun:
        if self.trigger_error is not None:
            raise self.trigger_error
        return await super().trigger_workflow(repo, workflow, ref, inputs)

    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
        if self.poll_errors:
            self.poll_errors -= 1
            raise self.poll_error("github", "GET", f"/runs/{run_id}", 502)
        return await super().get_workflow_run(repo, run_id)


async def test_a_missing_workflow_fails_the_step_and_records_nothing(
    tmp_path: Path, trigger: TriggerCi
) -> None:
    harness = StepHarness(
        tmp_path, FlakyProvider(NotFound("github", "POST", "/workflows/nope.yml", 404))
    )

    with pytest.raises(StepFailed, match=r"could not trigger nope\.yml at feature.*404"):
        await trigger.run(harness.context(), config(workflow="nope.yml"))

    assert harness.recorded == {}


async def test_a_transient_trigger_error_is_left_for_the_job_retry(
    tmp_path: Path, trigger: TriggerCi
) -> None:
    harness = StepHarness(tmp_path, FlakyProvider(ServerError("github", "POST", "/d", 503)))

    with pytest.raises(ServerError):
        await trigger.run(harness.context(), config())


async def test_transient_errors_while_polling_are_polled_through(
    tmp_path: Path, clock: FakeClock, trigger: TriggerCi
) -> None:
    provider = FlakyProvider(poll_errors=2)
    provider.runs["1"] = [run(RunStatus.QUEUED), run(RunStatus.SUCCEEDED, "success")]
    harness = StepHarness(tmp_path, provider)

    outputs = await trigger.run(harness.context(), config(wait=True, poll_interval=5))

    assert outputs["status"] == "succeeded"
    assert clock.sleeps == [5, 5, 5]
    assert sum("trying again" in line for line in harness.lines) == 2


async def test_a_run_that_disappears_while_polling_fails_the_step(
    tmp_path: Path, clock: FakeClock, trigger: TriggerCi
) -> None:
    provider = FlakyProvider(poll_errors=1, poll_error=NotFound)
    provider.runs["1"] = [run(RunStatus.QUEUED)]
    harness = StepHarness(tmp_path, provider)

    with pytest.raises(StepFailed, match=r"could not read CI run 1: github: GET /runs/1"):
        await trigger.run(harness.context(), config(wait=True))

    assert clock.sleeps == []


async def test_a_rate_limit_while_polling_waits_for_the_reset(
    tmp_path: Path, clock: FakeClock
) -> None:
    class RateLimitedOnce(RecordingProvider):
        limited = False

        async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
            if not self.limited:
                self.limited = True
                raise RateLimited("github", "GET", "/runs/1", 429, retry_at=clock.now + 120)
            return await super().get_workflow_run(repo, run_id)

    provider = RateLimitedOnce()
    provider.runs["1"] = [run(RunStatus.SUCCEEDED, "success")]
    harness = StepHarness(tmp_path, provider)

    done = await poll_run(
        harness.context(),
        1,
        deadline=clock.now + 600,
        poll_interval=10,
        sleep=clock.sleep,
        clock=clock.time,
    )

    assert done.status is RunStatus.SUCCEEDED
    assert clock.sleeps == [120]


async def test_poll_run_returns_a_finished_run_without_sleeping(
    harness: StepHarness, clock: FakeClock
) -> None:
    harness.provider.runs["9"] = [run(RunStatus.FAILED, "failure", run_id=9)]

    done = await poll_run(
        harness.context(),
        9,
        deadline=clock.now,
        poll_interval=1,
        sleep=clock.sleep,
        clock=clock.time,
    )

    assert done.status is RunStatus.FAILED
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("written", "seconds"),
    [(90, 90.0), ("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("1h30m", 5400.0), (2.5, 2.5)],
)
def test_durations(written: object, seconds: float) -> None:
    assert config(timeout=written).timeout == seconds


@pytest.mark.parametrize("bad", [0, -5, "soon", "5x", "", "inf"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        config(timeout=bad)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        config(workflows="ci.yml")


def test_the_step_names_itself_for_the_registry() -> None:
    from steps import trigger_ci

    assert trigger_ci.step.type_name == "trigger_ci"
    assert trigger_ci.step.Config is TriggerCiConfig
