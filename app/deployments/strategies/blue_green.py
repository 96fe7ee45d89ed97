"""blue-green: deploy to the idle colour (the one not live; green when none is yet), verify
it, then switch traffic to it. The live colour's targets are not touched, so switching back
is instant."""

from __future__ import annotations

from app.db.models.deployments import TaskKind
from app.deployments.strategies.base import Plan, Previous, Wave
from app.environments.config import BlueGreen

__all__ = ["idle_colour", "plan_blue_green"]

COLOURS = ("blue", "green")


def idle_colour(previous: Previous) -> str:
    """The colour to deploy to: the one not live (green when none is live yet)."""
    return "blue" if previous.live_colour == "green" else "green"


def plan_blue_green(strategy: BlueGreen, previous: Previous) -> Plan:
    colour = idle_colour(previous)
    targets = strategy.green if colour == "green" else strategy.blue
    waves = (
        Wave(TaskKind.DEPLOY, targets, max_failures=strategy.max_failures),
        Wave(TaskKind.SWITCH, targets, colour=colour),
    )
    return Plan(waves, live_colour=colour)
