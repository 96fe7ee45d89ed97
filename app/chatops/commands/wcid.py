"""`/wcid` ("where can I deploy"): who holds which lock, why, since and until when; what runs
in each environment; what waits in each environment's queue."""

from __future__ import annotations

from app.chatops.context import CommandContext, Reply
from app.db.models.base import utcnow
from app.deployments.where import running_where
from app.environments.locks import active_locks, describe_lock
from app.releases import store

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    sessions = ctx.services.sessions
    now = utcnow()
    locks = await active_locks(sessions, ctx.host, ctx.repo.full_name)
    where = await running_where(sessions, ctx.host, ctx.repo.full_name, recent=1)
    lines = ["**Where can I deploy?**", ""]
    lines += [f"- 🔒 {describe_lock(lock, now)}" for lock in locks] or ["- No locks are held."]
    lines += ["", "| environment | live | waiting |", "| --- | --- | --- |"]
    for name in ctx.environments:
        view = where.get(name)
        live = "—"
        if view is not None and view.live_release_id is not None:
            release = await store.get_release(sessions, view.live_release_id)
            shown = release.name if release is not None else view.live_release_id
            live = f"{shown} (deployment {view.live_job_id})"
        waiting = view.waiting if view is not None else []
        queue = ", ".join(f"{job.id} ({str(job.state).replace('_', ' ')})" for job in waiting)
        lines.append(f"| {name} | {live} | {queue or 'nothing'} |")
    return Reply.told("\n".join(lines))
