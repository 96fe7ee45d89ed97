"""Planning a deployment (pure): from (strategy, targets, the environment before) to the
ordered waves its tasks run in. Executing them is the engine's."""

from __future__ import annotations

from collections.abc import Sequence

from app.deployments.strategies.all_at_once import plan_all_at_once
from app.deployments.strategies.base import Plan, PlanError, Previous, Wave
from app.deployments.strategies.blue_green import idle_colour, plan_blue_green
from app.deployments.strategies.canary import canary_count, plan_canary
from app.deployments.strategies.rolling import plan_rolling
from app.environments.config import AllAtOnce, BlueGreen, Canary, Rolling, Strategy

__all__ = [
    "Plan",
    "PlanError",
    "Previous",
    "Wave",
    "canary_count",
    "idle_colour",
    "plan_waves",
]


def plan_waves(strategy: Strategy, targets: Sequence[str], previous: Previous) -> Plan:
    """The plan for deploying to `targets` (in the environment's order) by `strategy`."""
    if not targets:
        raise PlanError("the environment has no targets to deploy to")
    if len(set(targets)) != len(targets):
        raise PlanError("a target is named twice in the environment")
    if isinstance(strategy, BlueGreen):
        return plan_blue_green(strategy, previous)
    if isinstance(strategy, Canary):
        return Plan(tuple(plan_canary(strategy, targets)))
    if isinstance(strategy, Rolling):
        return Plan(tuple(plan_rolling(strategy, targets)))
    assert isinstance(strategy, AllAtOnce)
    return Plan(tuple(plan_all_at_once(strategy, targets)))
