"""Shipyard's vocabulary in GitHub's words and back: tables, paths and pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from providers.vocabulary import (
    CheckRun,
    CheckStatus,
    Comment,
    CommitState,
    DeploymentState,
    Permission,
    PullRequest,
    Repo,
    RunStatus,
    StatusReport,
    WorkflowRun,
)

MAX_DESCRIPTION = 140  # statuses and deployment statuses answer 422 above this
_MAX_SUMMARY = 65535  # check-run output.summary

# Our words -> GitHub's words.
COMMIT_STATE = {
    CommitState.PENDING: "pending",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failure",
    CommitState.ERROR: "error",
}
DEPLOYMENT_STATE = {
    DeploymentState.QUEUED: "queued",
    DeploymentState.IN_PROGRESS: "in_progress",
    DeploymentState.SUCCESS: "success",
    DeploymentState.FAILURE: "failure",
    DeploymentState.ERROR: "error",
    DeploymentState.INACTIVE: "inactive",
}
_CHECK_STATUS = {
    CheckStatus.QUEUED: "queued",
    CheckStatus.IN_PROGRESS: "in_progress",
    CheckStatus.COMPLETED: "completed",
}
# Check runs have no "error" conclusion. ERROR (Shipyard or the infrastructure failed, not the
# code) becomes "failure": it keeps a required check red, where "neutral" or "skipped" would
# let branch protection pass; the title and summary say what went wrong.
_CHECK_CONCLUSION = {
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failure",
    CommitState.ERROR: "failure",
}

# GitHub's words -> ours.
_STATUS_STATE = {state: ours for ours, state in COMMIT_STATE.items()}
_CONCLUSION_STATE = {
    "success": CommitState.SUCCESS,
    "neutral": CommitState.SUCCESS,
    "skipped": CommitState.SUCCESS,
    "failure": CommitState.FAILURE,
    "timed_out": CommitState.FAILURE,
    "action_required": CommitState.FAILURE,
    "cancelled": CommitState.ERROR,
    "stale": CommitState.ERROR,
}
PERMISSION = {
    "admin": Permission.ADMIN,
    "maintain": Permission.MAINTAIN,
    "write": Permission.WRITE,
    "triage": Permission.TRIAGE,
    "read": Permission.READ,
    "none": Permission.NONE,
}
_RUN_WAITING = {"queued", "requested", "waiting", "pending"}
_RUN_PASSED = {"success", "neutral", "skipped"}


# Paths


def segment(value: str) -> str:
    """One path segment, with "/" and everything else reserved percent-encoded."""
    return quote(value, safe="")


def ref_segment(ref: str) -> str:
    # Branch names keep their slashes ("feature/x") and cross-fork refs their "owner:".
    return quote(ref, safe="/:")


def web_url(api_url: str) -> str:
    """github.com's API is api.github.com; GitHub Enterprise Server's is <host>/api/v3."""
    parts = urlsplit(api_url)
    if parts.netloc == "api.github.com":
        return "https://github.com"
    return f"{parts.scheme}://{parts.netloc}{parts.path.removesuffix('/api/v3')}"


def repo_path(repo: Repo) -> str:
    return f"/repos/{segment(repo.owner)}/{segment(repo.name)}"


# Translation of GitHub's answers


def comment_from(data: Mapping[str, Any]) -> Comment:
    return Comment(
        id=int(data["id"]),
        body=data.get("body") or "",
        author=(data.get("user") or {}).get("login"),
        url=data.get("html_url"),
    )


def pull_request_from(data: Mapping[str, Any]) -> PullRequest:
    head, base = data["head"], data["base"]
    head_repo = head.get("repo")  # null once the fork is deleted
    base_repo = base.get("repo") or {}
    merged = bool(data.get("merged") or data.get("merged_at"))
    return PullRequest(
        number=int(data["number"]),
        title=data.get("title") or "",
        head_ref=head["ref"],
        head_sha=head["sha"],
        base_ref=base["ref"],
        state="merged" if merged else data["state"],
        url=data.get("html_url"),
        draft=bool(data.get("draft")),
        merged=merged,
        mergeable=data.get("mergeable"),  # null while GitHub computes it
        from_fork=head_repo is None or head_repo.get("full_name") != base_repo.get("full_name"),
        author=(data.get("user") or {}).get("login"),
    )


def workflow_run_from(data: Mapping[str, Any]) -> WorkflowRun:
    status, conclusion = data.get("status"), data.get("conclusion")
    if status == "completed":
        if conclusion in _RUN_PASSED:
            run_status = RunStatus.SUCCEEDED
        elif conclusion == "cancelled":
            run_status = RunStatus.CANCELLED
        else:
            run_status = RunStatus.FAILED
    elif status in _RUN_WAITING:
        run_status = RunStatus.QUEUED
    else:
        run_status = RunStatus.RUNNING  # in_progress, and any status GitHub adds later
    return WorkflowRun(
        id=int(data["id"]), status=run_status, url=data.get("html_url"), conclusion=conclusion
    )


def status_report_from(data: Mapping[str, Any]) -> StatusReport:
    return StatusReport(
        context=data["context"],
        state=_STATUS_STATE.get(data.get("state", ""), CommitState.ERROR),
        description=data.get("description"),
        target_url=data.get("target_url"),
    )


def check_report_from(data: Mapping[str, Any]) -> StatusReport:
    if data.get("status") == "completed":
        state = _CONCLUSION_STATE.get(data.get("conclusion") or "", CommitState.ERROR)
    else:
        state = CommitState.PENDING
    return StatusReport(
        context=data["name"],
        state=state,
        description=(data.get("output") or {}).get("title"),
        target_url=data.get("details_url") or data.get("html_url"),
    )


def check_run_fields(check: CheckRun) -> dict[str, Any]:
    """status / conclusion / details_url / output of a check-run request body."""
    fields: dict[str, Any] = {}
    conclusion = check.conclusion or CommitState.SUCCESS  # completed without one: as the base
    if check.status is CheckStatus.COMPLETED and conclusion in _CHECK_CONCLUSION:
        fields["status"] = "completed"
        fields["conclusion"] = _CHECK_CONCLUSION[conclusion]
    elif check.status is CheckStatus.COMPLETED:
        # "completed" but PENDING is no conclusion; GitHub would need one, so it still runs.
        fields["status"] = _CHECK_STATUS[CheckStatus.IN_PROGRESS]
    else:
        fields["status"] = _CHECK_STATUS[check.status]
    if check.details_url:
        fields["details_url"] = check.details_url
    if check.title or check.summary:
        # GitHub requires both title and summary once there is an output.
        title = check.title or check.name
        fields["output"] = {
            "title": title,
            "summary": truncate(check.summary or title, _MAX_SUMMARY),
        }
    return fields


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
