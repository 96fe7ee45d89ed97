"""Where a job stands, from its waves and its tasks (pure): which tasks start, which never
run, and how the job ends — table-tested without I/O."""

from __future__ import annotations

from app.db.models.deployments import TaskKind, TaskState
from app.deployments.progress import Moves, Outcome, TaskView, next_moves, rollback_moves
from app.deployments.strategies import Wave

D, B, S, R = TaskKind.DEPLOY, TaskKind.BAKE, TaskKind.SWITCH, TaskKind.ROLLBACK
PENDING, QUEUED, RUNNING = TaskState.PENDING, TaskState.QUEUED, TaskState.RUNNING
OK, FAILED = TaskState.SUCCEEDED, TaskState.FAILED


def task(id: int, wave: int, state: TaskState, target: str, kind: TaskKind = D) -> TaskView:
    return TaskView(id=id, wave=wave, kind=kind, state=state, target=target, error="boom")


ROLLING_2 = [Wave(D, ("a", "b")), Wave(D, ("c", "d"))]


def test_a_new_job_starts_its_first_wave_only() -> None:
    tasks = [task(1, 0, PENDING, "a"), task(2, 0, PENDING, "b"), task(3, 1, PENDING, "c")]
    assert next_moves(ROLLING_2, tasks) == Moves(start=[1, 2])


def test_the_next_wave_waits_for_every_task_of_this_one() -> None:
    tasks = [task(1, 0, OK, "a"), task(2, 0, RUNNING, "b"), task(3, 1, PENDING, "c")]
    assert next_moves(ROLLING_2, tasks) == Moves()
    tasks[1] = task(2, 0, OK, "b")
    assert next_moves(ROLLING_2, tasks) == Moves(start=[3])


def test_every_wave_done_completes_the_job() -> None:
    tasks = [task(i, i // 2, OK, t) for i, t in enumerate("abcd")]
    assert next_moves(ROLLING_2, tasks).outcome is Outcome.COMPLETED


def test_a_window_keeps_that_many_targets_in_flight() -> None:
    wave = [Wave(D, ("a", "b", "c", "d"), window=2)]
    tasks = [
        task(1, 0, OK, "a"),
        task(2, 0, RUNNING, "b"),
        task(3, 0, PENDING, "c"),
        task(4, 0, PENDING, "d"),
    ]
    assert next_moves(wave, tasks) == Moves(start=[3])


def test_a_window_counts_targets_not_components() -> None:
    wave = [Wave(D, ("a", "b"), window=1)]
    tasks = [task(1, 0, PENDING, "a"), task(2, 0, PENDING, "a"), task(3, 0, PENDING, "b")]
    assert next_moves(wave, tasks) == Moves(start=[1, 2])


def test_a_failure_beyond_max_failures_stops_once_nothing_is_in_flight() -> None:
    tasks = [task(1, 0, FAILED, "a"), task(2, 0, RUNNING, "b"), task(3, 1, PENDING, "c")]
    assert next_moves(ROLLING_2, tasks) == Moves()
    tasks[1] = task(2, 0, OK, "b")
    moves = next_moves(ROLLING_2, tasks)
    assert (moves.outcome, moves.cancel) == (Outcome.FAILED, [3])
    assert moves.reason == "deploying failed on a"


def test_max_failures_tolerates_that_many() -> None:
    waves = [Wave(D, ("a", "b"), max_failures=1), Wave(D, ("c",), max_failures=1)]
    tasks = [task(1, 0, FAILED, "a"), task(2, 0, OK, "b"), task(3, 1, PENDING, "c")]
    assert next_moves(waves, tasks) == Moves(start=[3])
    tasks[2] = task(3, 1, FAILED, "c")
    assert next_moves(waves, tasks).outcome is Outcome.FAILED


def test_a_canary_failure_is_never_excused_by_the_rest_s_tolerance() -> None:
    waves = [Wave(D, ("a",)), Wave(D, ("b", "c"), max_failures=5)]
    tasks = [task(1, 0, FAILED, "a"), task(2, 1, PENDING, "b"), task(3, 1, PENDING, "c")]
    moves = next_moves(waves, tasks)
    assert (moves.outcome, moves.cancel) == (Outcome.FAILED, [2, 3])


def test_a_later_wave_s_failure_within_its_tolerance_does_not_stop_the_job() -> None:
    waves = [Wave(D, ("a",)), Wave(D, ("b", "c"), max_failures=1)]
    tasks = [task(1, 0, OK, "a"), task(2, 1, FAILED, "b"), task(3, 1, OK, "c")]
    assert next_moves(waves, tasks).outcome is Outcome.COMPLETED


def test_a_failed_bake_stops_the_job() -> None:
    waves = [Wave(D, ("a",)), Wave(B, ("a",), bake_seconds=60), Wave(D, ("b",))]
    tasks = [task(1, 0, OK, "a"), task(2, 1, FAILED, "a", B), task(3, 2, PENDING, "b")]
    moves = next_moves(waves, tasks)
    assert (moves.outcome, moves.cancel) == (Outcome.FAILED, [3])
    assert moves.reason == "the bake failed: boom"


def test_rollback_tasks_are_not_the_deploy_phase_s() -> None:
    tasks = [task(1, 0, FAILED, "a"), task(2, 1, PENDING, "a", R)]
    assert next_moves([Wave(D, ("a",))], tasks).outcome is Outcome.FAILED


def test_rolling_back_starts_everything_then_ends() -> None:
    tasks = [task(1, 0, FAILED, "a"), task(2, 1, PENDING, "a", R), task(3, 1, PENDING, "b", R)]
    assert rollback_moves(tasks) == Moves(start=[2, 3])
    tasks[1:] = [task(2, 1, OK, "a", R), task(3, 1, RUNNING, "b", R)]
    assert rollback_moves(tasks) == Moves()
    tasks[2] = task(3, 1, OK, "b", R)
    assert rollback_moves(tasks).outcome is Outcome.ROLLED_BACK
    tasks[2] = task(3, 1, FAILED, "b", R)
    assert rollback_moves(tasks) == Moves(outcome=Outcome.FAILED, reason="the rollback failed on b")
