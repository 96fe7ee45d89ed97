"""The comment commands Shipyard knows, by name (pure): the parser, the permissions map and
`/help` read them from here."""

from __future__ import annotations

__all__ = ["COMMANDS", "INFORMATIONAL", "USAGE"]

# name → how it is written (without the prefix), in the order `/help` lists them.
USAGE: dict[str, str] = {
    "deploy": "deploy [ENV] [| key=value …]  ·  deploy BRANCH to ENV  ·  deploy noop ENV",
    "noop": "noop [ENV] [| key=value …]",
    "rollback": "rollback ENV [to RELEASE]",
    "promote": "promote [RELEASE|ENV] to ENV",
    "approve": "approve [ENV]",
    "reject": "reject [ENV] [REASON …]",
    "confirm": "confirm",
    "cancel": "cancel [ENV]",
    "lock": "lock ENV|--global [--reason TEXT] [--for 2h]  ·  lock ENV --info",
    "unlock": "unlock ENV|--global [--force]",
    "wcid": "wcid",
    "help": "help",
}
COMMANDS: tuple[str, ...] = tuple(USAGE)
# Commands that only tell: allowed on a fork's pull request, and to anyone who may read.
INFORMATIONAL: frozenset[str] = frozenset({"help", "wcid"})
