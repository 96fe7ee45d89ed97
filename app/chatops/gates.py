"""The gates a pull request's deploy passes before it is promoted (the promotion's own gate
follows): CI green on the commit, the pull request reviewed where the environment says so, and
its head up to date with its base. Facts from the host; decisions in `checks` and here.

Each answers a `Gated`: refused (a Refusal naming the gate and how to pass it), or passed —
`waiting` when CI has not finished (the deploy then waits for it), with notes for the reply
and a record of what was checked for the job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.chatops.checks import ci_verdict
from app.chatops.context import CommandContext
from app.environments.config import EnvironmentSpec
from app.environments.gate import Refusal
from providers.errors import ProviderError
from providers.vocabulary import ReviewState

__all__ = ["Gated", "pull_request_gates"]


@dataclass
class Gated:
    waiting: bool = False  # CI is pending: the deploy waits in the queue for it
    notes: list[str] = field(default_factory=list)
    record: list[dict[str, str]] = field(default_factory=list)


async def pull_request_gates(
    ctx: CommandContext, spec: EnvironmentSpec, environment: str, commit: str, *, branch: bool
) -> Gated:
    """CI, reviews and being up to date, for a deploy of `commit`; Refusal when one refuses.
    A deploy of a branch (`/deploy main to production`) is not the pull request's code: only
    its CI counts."""
    gated = Gated()
    await _ci(ctx, commit, gated)
    if not branch:
        await _reviews(ctx, spec, environment, gated)
        await _up_to_date(ctx, spec, environment, commit, gated)
    return gated


async def _ci(ctx: CommandContext, commit: str, gated: Gated) -> None:
    try:
        reports = await ctx.client.list_commit_statuses(ctx.repo, commit)
    except ProviderError as error:
        raise Refusal(
            "ci", f"the checks of {commit[:12]} could not be read ({error}), so nothing deploys"
        ) from None
    verdict = ci_verdict(reports, ctx.chatops.required_checks, own=ctx.own_contexts)
    if verdict.state == "failed":
        raise Refusal("ci", verdict.summary(), "fix the failing checks, then ask again")
    gated.waiting = verdict.state == "pending"
    if gated.waiting:
        gated.notes.append(f"{verdict.summary()}: the deploy waits for it.")
    gated.record.append({"gate": "ci", "result": verdict.summary()})


async def _reviews(
    ctx: CommandContext, spec: EnvironmentSpec, environment: str, gated: Gated
) -> None:
    if spec.reviews != "required":
        return
    try:
        state = await ctx.client.review_state(ctx.repo, ctx.number)
    except ProviderError as error:
        raise Refusal(
            "reviews", f"the reviews of #{ctx.number} could not be read: {error}"
        ) from None
    if state is not ReviewState.APPROVED:
        said = "changes are requested" if state is ReviewState.CHANGES_REQUESTED else "no approval"
        raise Refusal(
            "reviews",
            f"{environment} needs an approved pull request, and #{ctx.number} has {said}",
            "get an approving review on the host",
        )
    gated.record.append({"gate": "reviews", "result": "approved"})


async def _up_to_date(
    ctx: CommandContext, spec: EnvironmentSpec, environment: str, commit: str, gated: Gated
) -> None:
    if spec.outdated == "off":
        return
    base = ctx.pull.base_ref
    try:
        behind = (await ctx.client.compare(ctx.repo, base, commit)).behind_by
    except ProviderError as error:
        raise Refusal(
            "outdated", f"#{ctx.number} could not be compared with {base}: {error}"
        ) from None
    if behind == 0:
        gated.record.append({"gate": "outdated", "result": "up to date"})
        return
    said = f"#{ctx.number} is {behind} commit{'s' if behind != 1 else ''} behind {base}"
    if spec.outdated == "strict":
        raise Refusal(
            "outdated",
            f"{said}; {environment} deploys only up-to-date code",
            f"merge or rebase {base} into it",
        )
    gated.notes.append(f"Note: {said}.")
    gated.record.append({"gate": "outdated", "result": f"{behind} behind (warned)"})
