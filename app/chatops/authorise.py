"""May this author give this command on this pull request? (pure) — the host role the
repository's `chatops.permissions` (raised to the server's floor) asks, never a fork's pull
request for anything but `/help` and `/wcid`, and a draft only where the environment allows."""

from __future__ import annotations

from collections.abc import Mapping

from app.access.roles import role_name
from app.chatops.config import ChatopsConfig
from app.chatops.names import INFORMATIONAL
from app.chatops.parse import Command
from app.chatops.permissions import needed_role
from app.environments.config import EnvironmentSpec
from providers.vocabulary import Permission, PullRequest

__all__ = ["DEPLOYING", "command_environment", "refusal"]

DEPLOYING = frozenset({"deploy", "noop", "promote"})  # commands that put code somewhere


def command_environment(command: Command, chatops: ChatopsConfig) -> str | None:
    """The environment a command acts on: named, or the default one for a deploy."""
    if command.environment is None and command.name in ("deploy", "noop"):
        return chatops.default_environment
    return command.environment


def refusal(
    command: Command,
    login: str,
    role: Permission,
    pull: PullRequest,
    chatops: ChatopsConfig,
    environments: Mapping[str, EnvironmentSpec],
    floor: Permission,
) -> str | None:
    """None when `login` (with `role` on the repository) may give `command` here; else why."""
    if pull.from_fork and command.name not in INFORMATIONAL:
        return (
            f"#{pull.number} comes from a fork: on a fork's pull request Shipyard answers only "
            f"{chatops.prefix}help and {chatops.prefix}wcid"
        )
    environment = command_environment(command, chatops)
    needed = needed_role(command.name, environment, chatops.permissions, floor)
    if role < needed:
        what = " ".join(filter(None, [f"{chatops.prefix}{command.name}", environment]))
        return (
            f"@{login} needs {role_name(needed)} on the repository for {what}, "
            f"and has {role_name(role)}"
        )
    spec = environments.get(environment or "")
    if pull.draft and command.name in DEPLOYING and not (spec is not None and spec.drafts):
        return (
            f"#{pull.number} is a draft: mark it ready for review first "
            f"(or the environment allows it with `drafts: true`)"
        )
    return None
