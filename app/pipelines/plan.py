"""Pure run planning: which steps may start, which are skipped, and how the run ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.db.models.pipelines import RunState, StepState
from app.work.states import Transitions

FINISHED = frozenset(
    {StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED, StepState.CANCELLED}
)

STEP_MOVES = Transitions(
    {
        StepState.PENDING: {StepState.RUNNING, StepState.SKIPPED, StepState.CANCELLED},
        StepState.RUNNING: {
            StepState.SUCCEEDED,
            StepState.FAILED,
            StepState.CANCELLED,
            StepState.SKIPPED,  # its own `if:` is decided once it is claimed
            StepState.PENDING,  # a retry
        },
    }
)
RUN_MOVES = Transitions(
    {
        RunState.QUEUED: {RunState.RUNNING, RunState.FAILED, RunState.CANCELLED},
        RunState.RUNNING: {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED},
    }
)


@dataclass(frozen=True)
class StepView:
    name: str
    state: StepState
    needs: tuple[str, ...] = ()
    continue_on_error: bool = False
    blocked: bool = False  # skipped because a need did not succeed (not by its own `if:`)


@dataclass(frozen=True)
class Plan:
    start: list[str] = field(default_factory=list)
    skip: dict[str, str] = field(default_factory=dict)  # step -> why
    outcome: RunState | None = None  # set when nothing is left to run


def plan(steps: Sequence[StepView]) -> Plan:
    """What to do next. A need that succeeded, was skipped, or failed with continue_on_error
    is met; a need that failed otherwise (or was cancelled) skips the steps after it."""
    by_name = {step.name: step for step in steps}
    state = {step.name: step.state for step in steps}
    blocked = {step.name for step in steps if step.blocked}
    start: list[str] = []
    skip: dict[str, str] = {}
    changed = True
    while changed:  # a skip can make further steps skippable
        changed = False
        for step in steps:
            if state[step.name] is not StepState.PENDING or step.name in start:
                continue
            unmet = [n for n in step.needs if n in blocked or _unmet(by_name[n], state[n])]
            if unmet:
                skip[step.name] = f"skipped: {', '.join(unmet)} did not succeed"
                state[step.name] = StepState.SKIPPED
                blocked.add(step.name)
                changed = True
            elif all(state[n] in FINISHED for n in step.needs):
                start.append(step.name)
    if start or any(s in (StepState.PENDING, StepState.RUNNING) for s in state.values()):
        return Plan(start=start, skip=skip)
    failed = any(
        (state[s.name] is StepState.FAILED and not s.continue_on_error)
        or state[s.name] is StepState.CANCELLED
        for s in steps
    )
    return Plan(skip=skip, outcome=RunState.FAILED if failed else RunState.SUCCEEDED)


def _unmet(need: StepView, state: StepState) -> bool:
    """A failed or cancelled need is unmet; one its own `if:` skipped is met (it only skips
    itself, so an `if:` in a list of steps does not stop the steps after it)."""
    if state is StepState.FAILED:
        return not need.continue_on_error
    return state is StepState.CANCELLED
