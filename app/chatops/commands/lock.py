"""`/lock ENV [--reason TEXT] [--for 2h]` (`--global` for every environment): a sticky lock,
until `/unlock`, its expiry (`--for`, or `chatops.lock_ttl`), or the pull request closing.
`/lock ENV --info` says who holds it."""

from __future__ import annotations

from app.chatops.context import CommandContext, Reply
from app.db.models.base import utcnow
from app.environments.locks import active_locks, describe_lock, take_lock

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    command = ctx.command
    environment = None if command.everywhere else command.environment
    if environment is not None and environment not in ctx.environments:
        return ctx.no_such_environment(environment)
    now = utcnow()
    if command.info:
        held = [  # an environment is held by its own lock and by a global one
            lock
            for lock in await active_locks(ctx.services.sessions, ctx.host, ctx.repo.full_name)
            if lock.environment in (environment, None)
        ]
        what = environment or "every environment"
        if not held:
            return Reply.told(f"{what} is not locked.")
        return Reply.told("\n".join(f"- {describe_lock(lock, now)}" for lock in held))
    taken = await take_lock(
        ctx.services.sessions,
        provider=ctx.host,
        repository=ctx.repo.full_name,
        environment=environment,
        holder=ctx.requester.name,
        reason=command.reason,
        pr_number=ctx.number,
        ttl_seconds=command.duration or ctx.chatops.lock_ttl,
    )
    if not taken.won:
        return Reply.refused(f"Not locked: {describe_lock(taken.lock, now)}")
    return Reply.told(f"Locked: {describe_lock(taken.lock, now)}")
