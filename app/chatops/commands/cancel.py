"""`/cancel [ENV]`: this pull request's deployments that wait (for CI, a confirmation,
approvals or their turn) leave the queue."""

from __future__ import annotations

from app.chatops.context import CommandContext, Reply
from app.db.models.deployments import WAITING_JOB_STATES
from app.environments.promotion import cancel

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    waiting = await ctx.jobs_here(WAITING_JOB_STATES, ctx.command.environment)
    if not waiting:
        where = f" to {ctx.command.environment}" if ctx.command.environment else ""
        return Reply.refused(f"#{ctx.number} has no deployment{where} waiting: nothing to cancel.")
    for job in waiting:
        await cancel(ctx.services, job.id or 0, ctx.requester)
    listed = ", ".join(f"{job.id} ({job.environment})" for job in waiting)
    return Reply.told(f"Cancelled: deployment {listed}.")
