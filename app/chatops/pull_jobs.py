"""The deployment jobs a pull request asked for, by state (and environment)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from app.chatops.context import CommandContext
from app.db.models.deployments import DeploymentJob

__all__ = ["jobs_of_pull_request"]


async def jobs_of_pull_request(
    ctx: CommandContext, states: Sequence[str], environment: str | None = None
) -> list[DeploymentJob]:
    """This pull request's jobs in `states` (in `environment`, if given), oldest first."""
    query = select(DeploymentJob).where(
        DeploymentJob.provider == ctx.host,
        DeploymentJob.repository == ctx.repo.full_name,
        DeploymentJob.pr_number == ctx.number,
        col(DeploymentJob.state).in_(states),
    )
    if environment is not None:
        query = query.where(DeploymentJob.environment == environment)
    async with ctx.services.sessions() as session:
        return list(await session.exec(query.order_by(col(DeploymentJob.id))))
