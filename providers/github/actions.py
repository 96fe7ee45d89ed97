"""GitHub Actions: dispatching a workflow and naming the run it started."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from providers.errors import NotFound, ValidationFailed
from providers.github.translate import (
    dispatched_runs_query,
    repo_path,
    segment,
    workflow_run_from,
)
from providers.github.transport import ACCEPT, ShipyardGitHubAPI
from providers.retry import RetryPolicy
from providers.vocabulary import Repo, RunStatus, WorkflowRun

__all__ = ["trigger_workflow"]

_RUN_LOOKUP_DELAYS = (1.0, 2.0, 3.0, 5.0, 5.0)  # waiting for a dispatched run to be listed


async def trigger_workflow(
    api: ShipyardGitHubAPI,
    retry: RetryPolicy,
    api_url: str,
    repo: Repo,
    workflow: str,
    ref: str,
    inputs: Mapping[str, str] | None,
) -> WorkflowRun:
    """Dispatch the workflow at `ref` and return its run (see `GitHubClient.trigger_workflow`)."""
    workflow_path = f"{repo_path(repo)}/actions/workflows/{segment(workflow)}"
    body: dict[str, Any] = {"ref": ref, "inputs": dict(inputs or {})}
    dispatched_at = retry.clock()
    dispatches = f"{workflow_path}/dispatches"
    try:
        answer = await api.post(
            dispatches, data={**body, "return_run_details": True}, accept=ACCEPT
        )
    except ValidationFailed as error:
        if "return_run_details" not in error.detail:
            raise
        answer = await api.post(dispatches, data=body, accept=ACCEPT)
    if isinstance(answer, Mapping) and answer.get("workflow_run_id"):
        return WorkflowRun(
            id=int(answer["workflow_run_id"]),
            status=RunStatus.QUEUED,
            url=answer.get("html_url"),
        )
    return await _find_dispatched_run(api, retry, api_url, workflow_path, ref, since=dispatched_at)


async def _find_dispatched_run(
    api: ShipyardGitHubAPI,
    retry: RetryPolicy,
    api_url: str,
    workflow_path: str,
    ref: str,
    *,
    since: float,
) -> WorkflowRun:
    query = dispatched_runs_query(ref, since=since)
    for delay in (0.0, *_RUN_LOOKUP_DELAYS):
        if delay:
            await retry.sleep(delay)  # the run is listed a moment after dispatch
        listing = await api.getitem(f"{workflow_path}/runs?{query}", accept=ACCEPT)
        runs = listing.get("workflow_runs", [])
        if runs:
            return workflow_run_from(max(runs, key=lambda run: (run["created_at"], run["id"])))
    raise NotFound(
        api.host,
        "GET",
        f"{urlsplit(api_url).path}{workflow_path}/runs",
        detail="the workflow was dispatched but its run did not appear; look in Actions",
    )
