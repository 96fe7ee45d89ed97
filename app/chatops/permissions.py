"""The least role a comment command needs: the repository's `chatops.permissions`, Shipyard's
defaults, and the server's floor (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from app.access.roles import Role, at_least, parse_role
from app.chatops.names import COMMANDS, INFORMATIONAL
from providers.vocabulary import Permission

__all__ = ["DEFAULT_ROLES", "needed_role"]

DEFAULT_ROLES: Mapping[str, Role] = MappingProxyType(
    {command: "read" if command in INFORMATIONAL else "write" for command in COMMANDS}
)
"""Commands that act need `write`; those that only tell (`help`, `wcid`) need `read`."""


def needed_role(
    command: str,
    environment: str | None,
    permissions: Mapping[str, Role],
    floor: Permission,
) -> Permission:
    """The least role that may give `command` (for `environment`, when it names one).

    The repository's `command:environment` key beats its `command` key, which beats
    `DEFAULT_ROLES`. The server's floor (SHIPYARD_MIN_COMMAND_ROLE) raises every command but
    the informational ones, which need `read` at least. ValueError for an unknown command."""
    if command not in DEFAULT_ROLES:
        raise ValueError(f"unknown command {command!r}; commands are {', '.join(COMMANDS)}")
    specific = permissions.get(f"{command}:{environment}") if environment else None
    role = parse_role(specific or permissions.get(command) or DEFAULT_ROLES[command])
    if command in INFORMATIONAL:
        return at_least(role, Permission.READ)
    return at_least(role, floor, Permission.READ)
