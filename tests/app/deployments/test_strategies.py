"""Planning is a pure function from (strategy, targets, the environment before) to waves:
table-tested without I/O."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from app.db.models.deployments import TaskKind
from app.deployments.strategies import (
    PlanError,
    Previous,
    Wave,
    canary_count,
    idle_colour,
    plan_waves,
)
from app.environments.config import Strategy

DEPLOY, BAKE, SWITCH = TaskKind.DEPLOY, TaskKind.BAKE, TaskKind.SWITCH
FOUR = ["w1", "w2", "w3", "w4"]
STRATEGY: TypeAdapter[Any] = TypeAdapter(Strategy)


def strategy(**written: Any) -> Any:
    return STRATEGY.validate_python(written)


def waves(written: dict[str, Any], targets: list[str], live: str | None = None) -> list[Wave]:
    return list(plan_waves(strategy(**written), targets, Previous(live)).waves)


@pytest.mark.parametrize(
    ("written", "targets", "expected"),
    [
        ({"type": "all-at-once"}, FOUR, [Wave(DEPLOY, tuple(FOUR))]),
        ({}, ["a"], [Wave(DEPLOY, ("a",))]),
        (
            {"type": "rolling", "batch_size": 2},
            FOUR,
            [Wave(DEPLOY, ("w1", "w2")), Wave(DEPLOY, ("w3", "w4"))],
        ),
        (
            {"type": "rolling", "batch_size": 3, "max_failures": 1},
            FOUR,
            [
                Wave(DEPLOY, ("w1", "w2", "w3"), max_failures=1),
                Wave(DEPLOY, ("w4",), max_failures=1),
            ],
        ),
        ({"type": "rolling"}, ["a", "b"], [Wave(DEPLOY, ("a",)), Wave(DEPLOY, ("b",))]),
        (
            {"type": "rolling", "parallelism": 10},
            FOUR,
            [Wave(DEPLOY, tuple(FOUR), window=10)],
        ),
        (
            {
                "type": "canary",
                "canary": 1,
                "bake": "5m",
                "then": {"type": "rolling", "batch_size": 2},
            },
            FOUR,
            [
                Wave(DEPLOY, ("w1",)),
                Wave(BAKE, ("w1",), bake_seconds=300.0),
                Wave(DEPLOY, ("w2", "w3")),
                Wave(DEPLOY, ("w4",)),
            ],
        ),
        (
            {"type": "canary", "canary": "50%", "then": {"type": "all-at-once", "max_failures": 1}},
            FOUR,
            [Wave(DEPLOY, ("w1", "w2")), Wave(DEPLOY, ("w3", "w4"), max_failures=1)],
        ),
        ({"type": "canary", "canary": 3}, ["only"], [Wave(DEPLOY, ("only",))]),
    ],
)
def test_plans(written: dict[str, Any], targets: list[str], expected: list[Wave]) -> None:
    assert waves(written, targets) == expected


BLUE_GREEN = {
    "type": "blue-green",
    "blue": ["b1", "b2"],
    "green": ["g1", "g2"],
    "switch": {"command": "switch-traffic"},
}


@pytest.mark.parametrize(
    ("live", "colour", "targets"),
    [
        (None, "green", ("g1", "g2")),
        ("blue", "green", ("g1", "g2")),
        ("green", "blue", ("b1", "b2")),
    ],
)
def test_blue_green_deploys_to_the_idle_colour_then_switches(
    live: str | None, colour: str, targets: tuple[str, ...]
) -> None:
    plan = plan_waves(strategy(**BLUE_GREEN), ["b1", "b2", "g1", "g2"], Previous(live))
    assert plan.waves == (Wave(DEPLOY, targets), Wave(SWITCH, targets, colour=colour))
    assert plan.live_colour == colour == idle_colour(Previous(live))


@pytest.mark.parametrize(
    ("canary", "total", "count"),
    [(1, 4, 1), (2, 4, 2), (9, 4, 3), ("25%", 4, 1), ("30%", 4, 2), ("100%", 4, 3), ("1%", 1, 1)],
)
def test_canary_count_is_at_least_one_and_never_all(
    canary: int | str, total: int, count: int
) -> None:
    assert canary_count(canary, total) == count


def test_a_plan_round_trips_through_json() -> None:
    plan = plan_waves(strategy(**BLUE_GREEN), ["b1", "b2", "g1", "g2"], Previous("green"))
    assert [Wave.from_json(wave.as_json()) for wave in plan.waves] == list(plan.waves)


@pytest.mark.parametrize(("targets", "why"), [([], "no targets"), (["a", "a"], "named twice")])
def test_unplannable_targets_are_refused(targets: list[str], why: str) -> None:
    with pytest.raises(PlanError, match=why):
        plan_waves(strategy(type="all-at-once"), targets, Previous())
