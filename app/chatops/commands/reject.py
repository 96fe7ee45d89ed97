"""`/reject [ENV] [REASON]`: the deployment waiting for approvals ends, rejected, and says why."""

from __future__ import annotations

from app.chatops.commands.waiting import one_waiting
from app.chatops.context import CommandContext, Reply
from app.db.models.deployments import JobState
from app.environments.promotion import cancel

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    job = await one_waiting(ctx, JobState.AWAITING_APPROVAL, "reject")
    reason = ctx.command.reason
    why = f"rejected by {ctx.requester}" + (f": {reason}" if reason else "")
    await cancel(ctx.services, job.id or 0, ctx.requester, why)
    return Reply.told(f"Deployment {job.id} to {job.environment} is {why}.")
