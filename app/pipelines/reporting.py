"""Telling the Git host what a run is doing: one commit status per pipeline, linked to its page."""

from __future__ import annotations

import logging

from app.db.models.pipelines import PipelineRun, RunState
from app.services import Services
from app.settings import Settings
from providers.base import Provider
from providers.errors import ProviderError
from providers.vocabulary import CommitState, CommitStatus, Repo

log = logging.getLogger(__name__)

CONFIG_CONTEXT = "shipyard/config"

_STATUS: dict[RunState, tuple[CommitState, str]] = {
    RunState.QUEUED: (CommitState.PENDING, "Queued"),
    RunState.RUNNING: (CommitState.PENDING, "Running"),
    RunState.SUCCEEDED: (CommitState.SUCCESS, "Succeeded"),
    RunState.FAILED: (CommitState.FAILURE, "Failed"),
    RunState.CANCELLED: (CommitState.ERROR, "Cancelled"),
}


def run_url(settings: Settings, run_id: int) -> str:
    return f"{settings.public_url.rstrip('/')}/runs/{run_id}"


def delivery_url(settings: Settings, delivery_pk: int) -> str:
    return f"{settings.public_url.rstrip('/')}/deliveries/{delivery_pk}"


def run_status(settings: Settings, run: PipelineRun) -> CommitStatus:
    state, word = _STATUS[RunState(run.state)]
    detail = f": {run.error}" if run.error and state is not CommitState.PENDING else ""
    return CommitStatus(
        state=state,
        context=run.status_context,
        description=f"{word}{detail}"[:140],
        target_url=run_url(settings, run.id or 0),
    )


async def report_run(
    services: Services, run: PipelineRun, provider: Provider | None = None
) -> None:
    """Set the run's commit status for its current state (nothing when it has no commit)."""
    if not run.sha:
        return
    client = provider or services.providers(run.provider, run.installation_id)
    try:
        await client.set_commit_status(
            Repo(run.repository), run.sha, run_status(services.settings, run)
        )
    except ProviderError as error:
        log.warning("could not report run %s to %s: %s", run.id, run.provider, error)


async def report_config_error(
    provider: Provider, repo: Repo, sha: str, summary: str, target_url: str
) -> None:
    await provider.set_commit_status(
        repo,
        sha,
        CommitStatus(
            state=CommitState.FAILURE,
            context=CONFIG_CONTEXT,
            description=summary[:140],
            target_url=target_url,
        ),
    )
