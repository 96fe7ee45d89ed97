"""The one deployment of this pull request a command acts on (approve, reject, confirm,
cancel): in the given states, in the named environment if one is named."""

from __future__ import annotations

from app.chatops.context import CommandContext
from app.db.models.deployments import DeploymentJob, JobState
from app.environments.gate import Refusal

__all__ = ["one_waiting"]


async def one_waiting(
    ctx: CommandContext, states: JobState | tuple[JobState, ...], verb: str
) -> DeploymentJob:
    """The job; Refusal when there is none, or several and no environment was named."""
    wanted = (states,) if isinstance(states, JobState) else states
    found = await ctx.jobs_here(wanted, ctx.command.environment)
    said = " or ".join(state.replace("_", " ") for state in wanted)
    if not found:
        where = f" to {ctx.command.environment}" if ctx.command.environment else ""
        raise Refusal(verb, f"#{ctx.number} has no deployment{where} {said}")
    if len(found) > 1:
        listed = ", ".join(sorted({job.environment for job in found}))
        raise Refusal(
            verb,
            f"#{ctx.number} has deployments {said} in {listed}",
            f"name one: {ctx.spelled(verb, 'ENV')}",
        )
    return found[0]
