"""rolling: waves of `batch_size` targets, each after the one before; or `parallelism`
targets at a time in one wave, the next starting as soon as one ends; neither: one by one."""

from __future__ import annotations

from collections.abc import Sequence

from app.db.models.deployments import TaskKind
from app.deployments.strategies.base import Wave
from app.environments.config import Rolling

__all__ = ["plan_rolling"]


def plan_rolling(strategy: Rolling, targets: Sequence[str]) -> list[Wave]:
    tolerated = strategy.max_failures
    if strategy.parallelism is not None:
        return [
            Wave(
                TaskKind.DEPLOY, tuple(targets), window=strategy.parallelism, max_failures=tolerated
            )
        ]
    size = strategy.batch_size or 1
    return [
        Wave(TaskKind.DEPLOY, tuple(targets[start : start + size]), max_failures=tolerated)
        for start in range(0, len(targets), size)
    ]
