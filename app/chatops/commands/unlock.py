"""`/unlock ENV [--force]` (`--global`): only the lock's holder releases it, or, with
`--force`, an admin of the repository on its host or in SHIPYARD_ADMINS (recorded)."""

from __future__ import annotations

from app.chatops.context import CommandContext, Reply
from app.environments.locks import LockRefused, release_lock
from app.environments.requesters import is_admin

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    command = ctx.command
    environment = None if command.everywhere else command.environment
    requester = ctx.requester
    admin = is_admin(requester, ctx.author.role, ctx.services.settings.admins)
    try:
        lock = await release_lock(
            ctx.services.sessions,
            provider=ctx.host,
            repository=ctx.repo.full_name,
            environment=environment,
            by=requester.name,
            force=command.force,
            admin=admin,
        )
    except LockRefused as refused:
        return Reply.refused(str(refused))
    what = lock.environment or "every environment"
    forced = f" (forced; it was {lock.holder}'s)" if lock.forced else ""
    return Reply.told(f"Unlocked {what}{forced}.")
