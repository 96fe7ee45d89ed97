"""Run planning: order, parallel needs, skips, failures, continue_on_error, retries' states."""

from __future__ import annotations

import pytest

from app.db.models.pipelines import RunState, StepState
from app.pipelines.plan import RUN_MOVES, STEP_MOVES, StepView, plan

P, R, OK, F, S, C = (
    StepState.PENDING,
    StepState.RUNNING,
    StepState.SUCCEEDED,
    StepState.FAILED,
    StepState.SKIPPED,
    StepState.CANCELLED,
)


def chain(*states: StepState) -> list[StepView]:
    """Steps a, b, c... each needing the one before (the default order)."""
    names = "abcdefgh"
    return [
        StepView(names[i], state, (names[i - 1],) if i else ()) for i, state in enumerate(states)
    ]


def test_first_step_starts_alone() -> None:
    assert plan(chain(P, P, P)).start == ["a"]


def test_next_step_starts_when_its_need_succeeded() -> None:
    result = plan(chain(OK, P, P))
    assert (result.start, result.outcome) == (["b"], None)


def test_independent_steps_start_together() -> None:
    steps = [
        StepView("lint", P),
        StepView("unit", P),
        StepView("report", P, ("lint", "unit")),
    ]
    assert plan(steps).start == ["lint", "unit"]
    steps[0] = StepView("lint", OK)
    assert plan(steps).start == ["unit"]  # still pending (enqueued again is harmless): report waits
    steps[1] = StepView("unit", R)
    assert plan(steps).start == []
    steps[1] = StepView("unit", OK)
    assert plan(steps).start == ["report"]


def test_failure_skips_what_follows_and_fails_the_run() -> None:
    result = plan(chain(OK, F, P, P))
    assert result.skip == {
        "c": "skipped: b did not succeed",
        "d": "skipped: c did not succeed",
    }
    assert result.outcome is RunState.FAILED


def test_continue_on_error_lets_the_run_go_on_and_succeed() -> None:
    steps = [StepView("a", F, continue_on_error=True), StepView("b", P, ("a",))]
    assert plan(steps).start == ["b"]
    steps[1] = StepView("b", OK, ("a",))
    assert plan(steps).outcome is RunState.SUCCEEDED


def test_a_step_skipped_by_its_condition_does_not_stop_the_rest() -> None:
    result = plan(chain(OK, S, P))
    assert result.start == ["c"]
    assert plan(chain(OK, S, OK)).outcome is RunState.SUCCEEDED


def test_a_step_skipped_because_blocked_blocks_its_dependents() -> None:
    steps = [
        StepView("a", F),
        StepView("b", S, ("a",), blocked=True),
        StepView("c", P, ("b",)),
    ]
    result = plan(steps)
    assert result.skip == {"c": "skipped: b did not succeed"}
    assert result.outcome is RunState.FAILED


def test_cancelled_step_cancels_the_outcome() -> None:
    assert plan(chain(OK, C, P)).outcome is RunState.FAILED


def test_running_steps_keep_the_run_open() -> None:
    result = plan([StepView("a", R), StepView("b", F)])
    assert result.outcome is None


def test_all_succeeded() -> None:
    assert plan(chain(OK, OK)).outcome is RunState.SUCCEEDED


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (P, R, True),
        (R, OK, True),
        (R, P, True),
        (R, S, True),
        (OK, R, False),
        (F, P, False),
        (S, R, False),
        (P, OK, False),
    ],
)
def test_step_state_machine(current: StepState, target: StepState, allowed: bool) -> None:
    assert (current in STEP_MOVES.sources(target)) is allowed


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (RunState.QUEUED, RunState.RUNNING, True),
        (RunState.RUNNING, RunState.SUCCEEDED, True),
        (RunState.RUNNING, RunState.CANCELLED, True),
        (RunState.SUCCEEDED, RunState.RUNNING, False),
        (RunState.CANCELLED, RunState.RUNNING, False),
        (RunState.QUEUED, RunState.SUCCEEDED, False),
    ],
)
def test_run_state_machine(current: RunState, target: RunState, allowed: bool) -> None:
    assert (current in RUN_MOVES.sources(target)) is allowed
