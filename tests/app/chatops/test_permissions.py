"""The least role a command needs: the repository's say for one environment, then for the
command, then Shipyard's default, never below the server's floor (but `help` and `wcid`)."""

from __future__ import annotations

import pytest

from app.access.roles import Role
from app.chatops.names import COMMANDS
from app.chatops.permissions import DEFAULT_ROLES, needed_role
from providers.vocabulary import Permission

READ, TRIAGE, WRITE, MAINTAIN, ADMIN = (
    Permission.READ,
    Permission.TRIAGE,
    Permission.WRITE,
    Permission.MAINTAIN,
    Permission.ADMIN,
)
REPO: dict[str, Role] = {
    "deploy": "triage",
    "deploy:production": "admin",
    "rollback": "maintain",
    "wcid": "write",
}


def test_every_command_has_a_default() -> None:
    assert set(DEFAULT_ROLES) == set(COMMANDS)
    assert {command for command, role in DEFAULT_ROLES.items() if role == "read"} == {
        "help",
        "wcid",
    }
    assert {role for command, role in DEFAULT_ROLES.items() if command not in ("help", "wcid")} == {
        "write"
    }


@pytest.mark.parametrize(
    ("command", "environment", "permissions", "floor", "needed"),
    [
        # Defaults, on the lowest floor.
        ("deploy", "staging", {}, READ, WRITE),
        ("lock", None, {}, READ, WRITE),
        ("help", None, {}, READ, READ),
        ("wcid", None, {}, READ, READ),
        # command:environment beats command beats the default.
        ("deploy", "production", REPO, READ, ADMIN),
        ("deploy", "staging", REPO, READ, TRIAGE),
        ("deploy", None, REPO, READ, TRIAGE),
        ("rollback", "production", REPO, READ, MAINTAIN),
        ("noop", "production", REPO, READ, WRITE),
        ("wcid", None, REPO, READ, WRITE),
        # The server's floor raises every command that acts...
        ("deploy", "staging", REPO, WRITE, WRITE),
        ("deploy", "staging", {"deploy": "read"}, WRITE, WRITE),
        ("approve", "production", {}, MAINTAIN, MAINTAIN),
        ("deploy", "production", REPO, MAINTAIN, ADMIN),
        # ... but not those that only tell, which need read at least.
        ("help", None, {}, ADMIN, READ),
        ("wcid", None, {}, MAINTAIN, READ),
        ("wcid", None, REPO, ADMIN, WRITE),
        # Nothing is open to those who cannot read the repository.
        ("deploy", "staging", {"deploy": "read"}, Permission.NONE, READ),
    ],
)
def test_needed_role(
    command: str,
    environment: str | None,
    permissions: dict[str, Role],
    floor: Permission,
    needed: Permission,
) -> None:
    assert needed_role(command, environment, permissions, floor) is needed


def test_an_unknown_command_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown command 'ship'; commands are deploy, noop"):
        needed_role("ship", None, {}, WRITE)


def test_the_defaults_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        DEFAULT_ROLES["deploy"] = "read"  # type: ignore[index]
