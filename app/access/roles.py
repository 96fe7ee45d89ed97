"""Roles as people write them (`read` … `admin`), on the hosts' one scale, and the floor (pure)."""

from __future__ import annotations

from typing import Literal

from providers.vocabulary import Permission

__all__ = ["ROLE_NAMES", "Role", "at_least", "parse_role", "role_name"]

Role = Literal["read", "triage", "write", "maintain", "admin"]
ROLE_NAMES: tuple[Role, ...] = ("read", "triage", "write", "maintain", "admin")


def parse_role(name: str) -> Permission:
    """`write` → Permission.WRITE; ValueError naming the roles for anything else."""
    try:
        return Permission[name.upper()]
    except KeyError:
        raise ValueError(f"unknown role {name!r}; roles are {', '.join(ROLE_NAMES)}") from None


def role_name(permission: Permission) -> str:
    return permission.name.lower()


def at_least(*roles: Permission) -> Permission:
    """The strictest of the roles: a repository may raise a server's floor, never lower it."""
    return max(roles)
