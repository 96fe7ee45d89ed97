"""Fixtures for running one step: a recording provider, a harness, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.clock import FakeClock
from tests.support.steps import RecordingProvider, StepHarness


@pytest.fixture
def provider() -> RecordingProvider:
    return RecordingProvider()


@pytest.fixture
async def harness(tmp_path: Path, provider: RecordingProvider) -> AsyncIterator[StepHarness]:
    harness = StepHarness(tmp_path, provider)
    yield harness
    await harness.http.aclose()


@pytest.fixture
def clock() -> FakeClock:
    """The polling steps' fake clock (trigger_ci, wait_ci), starting at 1_000_000.0."""
    return FakeClock(1_000_000.0)
