"""all-at-once: every target in one wave."""

from __future__ import annotations

from collections.abc import Sequence

from app.db.models.deployments import TaskKind
from app.deployments.strategies.base import Wave
from app.environments.config import AllAtOnce

__all__ = ["plan_all_at_once"]


def plan_all_at_once(strategy: AllAtOnce, targets: Sequence[str]) -> list[Wave]:
    return [Wave(TaskKind.DEPLOY, tuple(targets), max_failures=strategy.max_failures)]
