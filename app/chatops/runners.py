"""The commands' runners, looked up by name: one module per command, each `run(ctx) -> Reply`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from app.chatops.commands import (
    approve,
    cancel,
    confirm,
    deploy,
    help,
    lock,
    noop,
    promote,
    reject,
    rollback,
    unlock,
    wcid,
)
from app.chatops.context import CommandContext, Reply
from app.chatops.names import COMMANDS

__all__ = ["RUNNERS", "Runner"]

Runner = Callable[[CommandContext], Awaitable[Reply]]

RUNNERS: Mapping[str, Runner] = {
    "deploy": deploy.run,
    "noop": noop.run,
    "rollback": rollback.run,
    "promote": promote.run,
    "approve": approve.run,
    "reject": reject.run,
    "confirm": confirm.run,
    "cancel": cancel.run,
    "lock": lock.run,
    "unlock": unlock.run,
    "wcid": wcid.run,
    "help": help.run,
}
assert tuple(RUNNERS) == COMMANDS, "every command has its module, in /help's order"
