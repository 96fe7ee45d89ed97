"""The `update_status` step: set a commit status (GitHub: a status; GitLab, Gitea alike)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from providers.vocabulary import CommitState, CommitStatus
from steps.base import StepConfig, StepContext, StepFailed

__all__ = ["UpdateStatus", "step"]


class UpdateStatusConfig(StepConfig):
    state: CommitState  # pending, success, failure, error
    context: str | None = Field(None, min_length=1)  # default: shipyard/<pipeline>
    description: str | None = None
    target_url: str | None = None  # default: the run's page on Shipyard
    sha: str | None = Field(None, min_length=1)  # default: the run's commit


class UpdateStatus:
    type_name: ClassVar[str] = "update_status"
    Config: ClassVar[type[StepConfig]] = UpdateStatusConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        assert isinstance(config, UpdateStatusConfig)
        sha = config.sha or ctx.run.sha
        if not sha:
            raise StepFailed("no commit to set a status on: the run has none; set `sha`")
        context = config.context or f"shipyard/{ctx.run.pipeline}"
        description = ctx.mask(config.description) if config.description else None
        status = CommitStatus(
            state=config.state,
            context=context,
            description=description,
            target_url=config.target_url or ctx.run.page_url,
        )
        await ctx.provider.set_commit_status(ctx.run.repo, sha, status)
        return {"state": config.state.value, "context": context, "sha": sha}


step = UpdateStatus()
