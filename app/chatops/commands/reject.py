"""`/reject [ENV] [REASON]`: the deployment waiting for approvals ends, rejected, and says why.
Whoever may approve it may reject it (the environment's `deployers:` role)."""

from __future__ import annotations

from app.access.roles import parse_role, role_name
from app.chatops.commands.waiting import one_waiting
from app.chatops.context import CommandContext, Reply
from app.db.models.deployments import JobState
from app.deployments.snapshot import JobSpec
from app.environments.gate import Refusal
from app.environments.promotion import cancel

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    job = await one_waiting(ctx, JobState.AWAITING_APPROVAL, "reject")
    needed = parse_role(JobSpec.of(job).environment.deployers)
    if ctx.author.role < needed:
        raise Refusal(
            "approvals",
            f"@{ctx.login} may not reject deployments to {job.environment}: it needs "
            f"{role_name(needed)}, and has {role_name(ctx.author.role)}",
        )
    reason = ctx.command.reason
    why = f"rejected by {ctx.requester}" + (f": {reason}" if reason else "")
    await cancel(ctx.services, job.id or 0, ctx.requester, why)
    return Reply.told(f"Deployment {job.id} to {job.environment} is {why}.")
