"""`/deploy [ENV] [| key=value …]`: the pull request's head commit into ENV, as a release (made
for it, or the one it has), through the pull request's gates and then the promotion's.
`/deploy BRANCH to ENV` deploys the default branch (or one `chatops.branches` allows) instead:
the way back to a known-good state. `/noop` runs here too, with the executors in dry-run."""

from __future__ import annotations

from fnmatch import fnmatchcase

from app.chatops.authorise import command_environment
from app.chatops.context import CommandContext, Reply
from app.chatops.gates import pull_request_gates
from app.chatops.releases import release_for_commit
from app.db.models.deployments import DeploymentJob, JobState
from app.deployments import jobs
from app.deployments.reporting import job_url
from app.deployments.snapshot import JobSpec
from app.environments.gate import Refusal
from app.environments.promotion import Promotion, promote
from app.releases import store
from providers.errors import NotFound

__all__ = ["run", "run_deploy"]


async def run(ctx: CommandContext) -> Reply:
    return await run_deploy(ctx, dry_run=False)


async def run_deploy(ctx: CommandContext, *, dry_run: bool) -> Reply:
    command = ctx.command
    environment = command_environment(command, ctx.chatops)
    if environment is None:
        return Reply.refused(
            f"Which environment? Name one: {ctx.spelled(command.name, 'ENV')} "
            f"(environments: {ctx.environment_list()}), or set `chatops.default_environment`."
        )
    spec = ctx.environments.get(environment)
    if spec is None:
        return ctx.no_such_environment(environment)
    if ctx.pull.state != "open" and command.branch is None:
        return Reply.refused(f"#{ctx.number} is {ctx.pull.state}: only an open one deploys.")
    commit, ref = await _commit(ctx)
    gated = await pull_request_gates(ctx, spec, environment, commit, branch=bool(command.branch))
    release = await release_for_commit(ctx, commit, ref)
    assert release.id is not None
    start: JobState | None = None
    if gated.waiting:
        start = JobState.AWAITING_CHECKS
    elif spec.confirm and not dry_run:
        start = JobState.AWAITING_CONFIRMATION
    job = await promote(
        ctx.services,
        Promotion(
            release_id=release.id,
            environment=environment,
            requester=ctx.requester,
            via="chatops",
            params=dict(command.params),
            pr_number=ctx.number,
            force=command.force,
            dry_run=dry_run,
            state=start,
            gates=tuple(gated.record),
        ),
    )
    verb = "Noop of" if dry_run else "Deploying"
    lines = [f"{verb} **{release.name}** to **{environment}**: {_where(ctx, job)}", *gated.notes]
    if job.state == JobState.AWAITING_CONFIRMATION:
        lines.append(await _plan(ctx, job))
    return Reply.started("\n\n".join(lines))


async def _plan(ctx: CommandContext, job: DeploymentJob) -> str:
    """What a confirmation confirms: the release and its digests, the targets, the strategy,
    and what runs in the environment now."""
    spec = JobSpec.of(job)
    release = spec.release
    lines = [
        "**The plan**",
        "",
        f"- release: {release.name} (commit {(release.commit or 'none')[:12]})",
        *(f"- {name}: `{digest}`" for name, digest in release.digests().items()),
        f"- targets: {', '.join(spec.environment.targets)}",
        f"- strategy: {spec.environment.strategy.type}",
    ]
    live = await jobs.last_completed(
        ctx.services.sessions, job.provider, job.repository, job.environment
    )
    now = await store.get_release(ctx.services.sessions, live.release_id) if live else None
    lines.append(f"- runs there now: {now.name if now is not None else 'nothing yet'}")
    return "\n".join(lines)


async def _commit(ctx: CommandContext) -> tuple[str, str]:
    """The commit to deploy and the branch it is on: the pull request's head, or the branch
    the command names (the default one, or one `chatops.branches` allows)."""
    branch = ctx.command.branch
    if branch is None:
        return ctx.pull.head_sha, ctx.pull.head_ref
    allowed = branch == ctx.default_branch or any(
        fnmatchcase(branch, pattern) for pattern in ctx.chatops.branches
    )
    if not allowed:
        raise Refusal(
            "branch",
            f"{branch} is not a branch this repository deploys by name (the default branch "
            f"{ctx.default_branch}, and `chatops.branches`: {_listed(ctx.chatops.branches)})",
        )
    try:
        return await ctx.client.commit_of(ctx.repo, branch), branch
    except NotFound:
        raise Refusal("branch", f"{ctx.repo.full_name} has no branch {branch}") from None


def _where(ctx: CommandContext, job: DeploymentJob) -> str:
    url = job_url(ctx.services.settings.public_url, job.id or 0)
    waits = {
        JobState.AWAITING_CHECKS: "it waits for the commit's CI",
        JobState.AWAITING_CONFIRMATION: (
            f"it waits for @{ctx.login} to comment {ctx.spelled('confirm')} "
            f"(or {ctx.spelled('cancel')})"
        ),
        JobState.AWAITING_APPROVAL: (
            f"it waits for {job.approvals_required} approval(s): {ctx.spelled('approve')} "
            "by someone else"
        ),
        JobState.QUEUED: "queued",
    }
    said = waits.get(JobState(job.state), str(job.state))
    return f"{said} — [deployment {job.id}]({url})"


def _listed(patterns: tuple[str, ...]) -> str:
    return ", ".join(patterns) or "none"
