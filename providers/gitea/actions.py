"""Gitea Actions and Forgejo Actions: dispatch a workflow, name its run, read the run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from providers.errors import NotFound, Unsupported
from providers.gitea.translate import (
    as_int,
    branch_of,
    is_dispatch_of,
    repo_path,
    segment,
    workflow_run_from,
)
from providers.gitea.transport import PAGE_SIZE, GiteaTransport, json_of
from providers.vocabulary import Repo, RunStatus, WorkflowRun

__all__ = ["get_workflow_run", "trigger_workflow"]

# trigger_workflow's run id when the host accepted the dispatch but cannot name the run.
_UNIDENTIFIED_RUN = "dispatched:"


async def trigger_workflow(
    api: GiteaTransport,
    web_url: str,
    repo: Repo,
    workflow: str,
    ref: str,
    inputs: Mapping[str, str] | None = None,
) -> WorkflowRun:
    """POST …/actions/workflows/{workflow}/dispatches (Gitea >= 1.24) and name the run.

    Gitea's newest versions return the run for `?return_run_details=true` (200
    {workflow_run_id, html_url, run_url}); Forgejo for `"return_run_info": true` in the
    body (201 {id, run_number, jobs}). Both flags are sent: each host ignores the other's.
    Otherwise (204) the run is the newest workflow_dispatch run of this workflow on the
    branch in GET …/actions/runs (Gitea >= 1.25): the dispatch creates the run before it
    answers, but a concurrent dispatch of the same workflow and branch could be picked.
    /actions/tasks (older Gitea) is no help: a task is not a run, exists only once a
    runner took a job, and no endpoint there can follow it. When the run cannot be named
    the dispatch still happened; the run's id then makes get_workflow_run say so.
    """
    path = f"{repo_path(repo)}/actions/workflows/{segment(workflow)}/dispatches"
    answer = await api.request(
        "POST",
        path,
        params={"return_run_details": "true"},
        body={"ref": ref, "inputs": dict(inputs or {}), "return_run_info": True},
    )
    if answer.status != 204 and answer.content:
        details = json_of(answer)
        if run_id := details.get("workflow_run_id") or details.get("id"):
            url = _run_url(web_url, repo, details)
            return WorkflowRun(id=int(run_id), status=RunStatus.QUEUED, url=url)
    return await _newest_dispatched_run(api, web_url, repo, workflow, ref)


async def get_workflow_run(
    api: GiteaTransport, host: str, repo: Repo, run_id: int | str
) -> WorkflowRun:
    """GET …/actions/runs/{run} (Gitea >= 1.25; Forgejo). Where that API does not exist
    Gitea answers 404 for the run list as well, and that is Unsupported."""
    run = str(run_id)
    path = f"{repo_path(repo)}/actions/runs/{segment(run)}"
    if not run.isdigit():
        raise Unsupported(
            host,
            "GET",
            f"/api/v1{path}",
            detail=(
                f"the workflow was dispatched ({run.removeprefix(_UNIDENTIFIED_RUN)}) but "
                "this server did not name the run, so it cannot be followed: Gitea 1.25 or "
                "later (or Forgejo with Actions) is needed to read workflow runs"
            ),
        )
    try:
        return workflow_run_from(await api.get_json(path))
    except NotFound as missing:
        if await _has_run_api(api, repo):
            raise
        raise Unsupported(
            host,
            "GET",
            missing.path,
            404,
            "this server has no workflow-run API (GET …/actions/runs answers 404 too): "
            "Gitea 1.25 or later is needed, and Actions must be enabled for the repository",
        ) from missing


def _run_url(web_url: str, repo: Repo, details: Mapping[str, Any]) -> str | None:
    if url := details.get("html_url"):
        return str(url)
    if number := details.get("run_number"):  # Forgejo's web pages use the run number
        return f"{web_url}/{repo.full_name}/actions/runs/{number}"
    return None


async def _newest_dispatched_run(
    api: GiteaTransport, web_url: str, repo: Repo, workflow: str, ref: str
) -> WorkflowRun:
    branch = branch_of(ref)
    params: dict[str, str | int] = {"event": "workflow_dispatch", "limit": PAGE_SIZE}
    if branch:
        params["branch"] = branch
    try:
        listing = await api.get_json(f"{repo_path(repo)}/actions/runs", params)
    except NotFound:
        listing = {}
    runs = [
        run for run in listing.get("workflow_runs") or [] if is_dispatch_of(run, workflow, branch)
    ]
    if not runs:
        return WorkflowRun(
            id=f"{_UNIDENTIFIED_RUN}{workflow}@{ref}",
            status=RunStatus.QUEUED,
            url=f"{web_url}/{repo.full_name}/actions?workflow={quote(workflow)}",
        )
    return workflow_run_from(max(runs, key=lambda run: as_int(run.get("id"))))


async def _has_run_api(api: GiteaTransport, repo: Repo) -> bool:
    try:
        await api.request("GET", f"{repo_path(repo)}/actions/runs", params={"limit": 1})
    except NotFound:
        return False
    return True
