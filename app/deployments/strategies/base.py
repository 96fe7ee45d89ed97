"""What planning makes (pure): waves of work in order, and what it needs to know of the
environment before (the colour live for blue-green)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from app.db.models.deployments import TaskKind

__all__ = ["Plan", "PlanError", "Previous", "Wave"]


class PlanError(ValueError):
    """The strategy cannot be planned over these targets; the message says why."""


@dataclass(frozen=True)
class Previous:
    """The environment as the last completed job left it."""

    live_colour: str | None = None  # blue-green: the colour traffic goes to


@dataclass(frozen=True)
class Wave:
    """A step of a plan. A deploy wave deploys to its targets, `window` at a time (None: all
    at once), the next wave starting only when this one is done; a bake repeats the health
    checks on its targets for `bake_seconds`; a switch moves traffic to `colour`.
    `max_failures` is how many failed deploy tasks the job tolerates while this wave runs."""

    kind: TaskKind
    targets: tuple[str, ...]
    window: int | None = None
    max_failures: int = 0
    bake_seconds: float | None = None
    colour: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": str(self.kind), "targets": list(self.targets)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Wave:
        return cls(**{**data, "kind": TaskKind(data["kind"]), "targets": tuple(data["targets"])})


@dataclass(frozen=True)
class Plan:
    """The waves in order; `live_colour` is the colour live once the plan has run (blue-green)."""

    waves: tuple[Wave, ...]
    live_colour: str | None = None
