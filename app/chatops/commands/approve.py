"""`/approve [ENV]`: count the author's approval of the deployment waiting for approvals that
this pull request asked for (in ENV); never the requester's own."""

from __future__ import annotations

from app.chatops.commands.waiting import one_waiting
from app.chatops.context import CommandContext, Reply
from app.db.models.deployments import JobState
from app.environments.promotion import approve

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    job = await one_waiting(ctx, JobState.AWAITING_APPROVAL, "approve")
    approved = await approve(ctx.services, job.id or 0, ctx.requester)
    if approved.state == JobState.AWAITING_APPROVAL:
        return Reply.told(
            f"Approved by @{ctx.login}: deployment {job.id} to {job.environment} waits for "
            f"more approvals ({job.approvals_required} needed)."
        )
    return Reply.started(
        f"Approved by @{ctx.login}: deployment {job.id} to {job.environment} is "
        f"{str(approved.state).replace('_', ' ')}."
    )
