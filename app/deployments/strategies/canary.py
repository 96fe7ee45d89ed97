"""canary: a few targets first (a count, or a percentage rounded up, at least one and never
all of them when there is more than one), then health checks repeated through the bake, then
the rest by the nested strategy. A failure on the canary stops everything: its tolerance is
nought, whatever `max_failures` the rest has."""

from __future__ import annotations

import math
from collections.abc import Sequence

from app.db.models.deployments import TaskKind
from app.deployments.strategies.all_at_once import plan_all_at_once
from app.deployments.strategies.base import Wave
from app.deployments.strategies.rolling import plan_rolling
from app.environments.config import AllAtOnce, Canary

__all__ = ["canary_count", "plan_canary"]


def canary_count(canary: int | str, total: int) -> int:
    """How many targets are the canary: `canary`, or that percentage of `total` rounded up;
    at least one, and fewer than all when there are two or more."""
    if isinstance(canary, str):
        wanted = math.ceil(total * int(canary.rstrip("%").strip()) / 100)
    else:
        wanted = canary
    return max(1, min(wanted, total - 1 if total > 1 else 1))


def plan_canary(strategy: Canary, targets: Sequence[str]) -> list[Wave]:
    count = canary_count(strategy.canary, len(targets))
    first, rest = tuple(targets[:count]), list(targets[count:])
    waves = [Wave(TaskKind.DEPLOY, first, max_failures=0)]
    if strategy.bake:
        waves.append(Wave(TaskKind.BAKE, first, bake_seconds=strategy.bake))
    if rest:
        then = strategy.then
        waves += (
            plan_all_at_once(then, rest)
            if isinstance(then, AllAtOnce)
            else plan_rolling(then, rest)
        )
    return waves
