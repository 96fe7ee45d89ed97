"""`/noop [ENV]`: everything a deploy does — gates, plan, artifacts, the comment — with the
executors in dry-run; it asks no approval and touches no target."""

from __future__ import annotations

from app.chatops.commands.deploy import run_deploy
from app.chatops.context import CommandContext, Reply

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    return await run_deploy(ctx, dry_run=True)
