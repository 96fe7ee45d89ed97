"""`/confirm`: the requester confirms the deployment that waits for it (`confirm: true`), if
the pull request's head is still the commit it deploys and the confirmation came in time."""

from __future__ import annotations

from app.chatops.commands.waiting import one_waiting
from app.chatops.context import CommandContext, Reply
from app.chatops.waiting import confirmation_overdue
from app.db.models.base import utcnow
from app.db.models.deployments import JobState
from app.deployments import jobs
from app.deployments.snapshot import JobSpec
from app.environments.gate import Refusal
from app.environments.promotion import announce, cancel

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    job = await one_waiting(ctx, JobState.AWAITING_CONFIRMATION, "confirm")
    if job.requested_by != ctx.requester.name:
        raise Refusal("confirm", f"only {job.requested_by}, who asked for it, confirms it")
    spec = JobSpec.of(job)
    if confirmation_overdue(job, utcnow()):
        await cancel(ctx.services, job.id or 0, ctx.requester, "not confirmed in time")
        raise Refusal("confirm", f"deployment {job.id} was not confirmed in time; ask again")
    if spec.release.commit != ctx.pull.head_sha:
        why = "the pull request's head moved since it was asked for"
        await cancel(ctx.services, job.id or 0, ctx.requester, why)
        raise Refusal("confirm", f"deployment {job.id}: {why}; ask again")
    nxt = JobState.AWAITING_APPROVAL if job.approvals_required else JobState.QUEUED
    if not await jobs.move_job(ctx.services.sessions, job.id or 0, nxt):
        raise Refusal("confirm", f"deployment {job.id} is no longer waiting for a confirmation")
    moved = await jobs.get_job(ctx.services.sessions, job.id or 0)
    assert moved is not None
    await announce(ctx.services, moved)
    return Reply.started(
        f"Confirmed: deployment {job.id} to {job.environment} is {nxt.replace('_', ' ')}."
    )
