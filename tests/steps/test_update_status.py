"""update_status: what reaches the provider, and its defaults."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from providers.vocabulary import CommitState, CommitStatus
from steps.base import StepFailed
from steps.update_status import UpdateStatusConfig, step
from tests.support.steps import StepHarness


async def test_defaults_come_from_the_run(harness: StepHarness) -> None:
    outputs = await step.run(harness.context(), UpdateStatusConfig(state=CommitState.PENDING))

    assert harness.provider.statuses == [
        (
            "a" * 40,
            CommitStatus(
                state=CommitState.PENDING,
                context="shipyard/review",
                target_url="http://shipyard.test/runs/1",
            ),
        )
    ]
    assert outputs == {"state": "pending", "context": "shipyard/review", "sha": "a" * 40}


async def test_every_field_can_be_given(harness: StepHarness) -> None:
    config = UpdateStatusConfig.model_validate(
        {
            "state": "failure",
            "context": "shipyard/deploy/staging",
            "description": "3 tests failed",
            "target_url": "https://ci.example/1",
            "sha": "b" * 40,
        }
    )
    await step.run(harness.context(), config)

    assert harness.provider.statuses == [
        (
            "b" * 40,
            CommitStatus(
                CommitState.FAILURE,
                "shipyard/deploy/staging",
                "3 tests failed",
                "https://ci.example/1",
            ),
        )
    ]


async def test_the_description_is_masked(harness: StepHarness) -> None:
    harness.secrets.append("tok-123456")
    await step.run(
        harness.context(),
        UpdateStatusConfig(state=CommitState.ERROR, description="failed with tok-123456"),
    )
    assert harness.provider.statuses[0][1].description == "failed with ***"


async def test_without_a_commit_it_fails(harness: StepHarness) -> None:
    ctx = harness.context()
    ctx.run = dataclasses.replace(ctx.run, sha=None)
    with pytest.raises(StepFailed, match="no commit"):
        await step.run(ctx, UpdateStatusConfig(state=CommitState.SUCCESS))
    assert harness.provider.statuses == []


@pytest.mark.parametrize("config", [{"state": "done"}, {}, {"state": "success", "colour": "red"}])
def test_config_is_checked(config: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        UpdateStatusConfig.model_validate(config)
