"""`/rollback ENV [to RELEASE]`: ENV back on its previous good release (or the one named)."""

from __future__ import annotations

from app.chatops.context import CommandContext, Reply
from app.deployments.reporting import job_url
from app.environments.gate import Refusal
from app.environments.promotion import rollback
from app.releases import store

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    environment = ctx.command.environment or ""
    if environment not in ctx.environments:
        return ctx.no_such_environment(environment)
    to: int | None = None
    if ctx.command.release is not None:
        named = await store.find_release(
            ctx.services.sessions, ctx.host, ctx.repo.full_name, ctx.command.release
        )
        if named is None:
            raise Refusal("rollback", f"{ctx.repo.full_name} has no release {ctx.command.release}")
        to = named.id
    job = await rollback(
        ctx.services, ctx.host, ctx.repo.full_name, environment, ctx.requester, via="chatops", to=to
    )
    url = job_url(ctx.services.settings.public_url, job.id or 0)
    return Reply.started(f"Rolling **{environment}** back — [deployment {job.id}]({url})")
