"""`/promote [RELEASE|ENV] to ENV`: the exact release live in an environment (by default the
one ENV comes `after:`), or a named release, into ENV."""

from __future__ import annotations

from app.chatops.context import CommandContext, Reply
from app.db.models.releases import Release
from app.deployments import jobs
from app.deployments.reporting import job_url
from app.environments.gate import Refusal
from app.environments.promotion import Promotion, promote
from app.releases import store

__all__ = ["run"]


async def run(ctx: CommandContext) -> Reply:
    environment = ctx.command.environment or ""
    spec = ctx.environments.get(environment)
    if spec is None:
        return ctx.no_such_environment(environment)
    release = await _source(ctx, ctx.command.source or spec.after, environment)
    assert release.id is not None
    job = await promote(
        ctx.services,
        Promotion(
            release_id=release.id,
            environment=environment,
            requester=ctx.requester,
            via="chatops",
            pr_number=ctx.number,
            force=ctx.command.force,
        ),
    )
    url = job_url(ctx.services.settings.public_url, job.id or 0)
    return Reply.started(
        f"Promoting **{release.name}** to **{environment}**: {str(job.state).replace('_', ' ')}"
        f" — [deployment {job.id}]({url})"
    )


async def _source(ctx: CommandContext, source: str | None, environment: str) -> Release:
    """The release an environment runs (`source` names one), or the release named `source`."""
    sessions = ctx.services.sessions
    if source is None:
        raise Refusal(
            "promote",
            f"{environment} comes after no environment: name what to promote, "
            f"{ctx.spelled('promote', 'RELEASE', 'to', environment)}",
        )
    if source in ctx.environments:
        live = await jobs.last_completed(sessions, ctx.host, ctx.repo.full_name, source)
        found = await store.get_release(sessions, live.release_id) if live is not None else None
        if found is None:
            raise Refusal(
                "promote", f"nothing is live in {source} yet: there is nothing to promote"
            )
        return found
    named = await store.find_release(sessions, ctx.host, ctx.repo.full_name, source)
    if named is None:
        raise Refusal(
            "promote",
            f"{source} is neither an environment ({ctx.environment_list()}) nor a release of "
            f"{ctx.repo.full_name}",
        )
    return named
