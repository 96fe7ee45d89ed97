"""Shipyard's vocabulary in GitHub's words and back: tables, paths and pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from providers.vocabulary import (
    CheckRun,
    CheckStatus,
    Comment,
    CommitState,
    CommitStatus,
    Comparison,
    Deployment,
    DeploymentState,
    Identity,
    Permission,
    PullRequest,
    Repo,
    RunStatus,
    StatusReport,
    WorkflowRun,
)

MAX_DESCRIPTION = 140  # statuses and deployment statuses answer 422 above this
_MAX_SUMMARY = 65535  # check-run output.summary
_CLOCK_SKEW = 60  # seconds of slack in the `created` filter when looking for a dispatched run

# Our words -> GitHub's words.
COMMIT_STATE = {
    CommitState.PENDING: "pending",
    CommitState.RUNNING: "pending",
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
_STATUS_STATE = {
    "pending": CommitState.PENDING,
    "success": CommitState.SUCCESS,
    "failure": CommitState.FAILURE,
    "error": CommitState.ERROR,
}
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


def dispatched_runs_query(ref: str, *, since: float) -> str:
    """The query listing a workflow's `workflow_dispatch` runs on `ref` created since `since`."""
    created = datetime.fromtimestamp(since - _CLOCK_SKEW, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return urlencode(
        {
            "event": "workflow_dispatch",
            "branch": ref.removeprefix("refs/heads/").removeprefix("refs/tags/"),
            "created": f">={created}",
            "per_page": "10",
        }
    )


# Request bodies


def status_body(status: CommitStatus) -> dict[str, Any]:
    body: dict[str, Any] = {"state": COMMIT_STATE[status.state], "context": status.context}
    if status.description:
        body["description"] = truncate(status.description, MAX_DESCRIPTION)
    if status.target_url:
        body["target_url"] = status.target_url
    return body


def deployment_body(
    ref: str,
    sha: str,
    environment: str,
    description: str | None,
    payload: Mapping[str, Any] | None,
    *,
    production: bool = False,
    transient: bool = False,
) -> dict[str, Any]:
    """POST …/deployments: exactly the fields GitHub documents (no `task`: its default is
    GitHub's own `deploy`)."""
    body: dict[str, Any] = {
        # The sha, not the branch or tag: a branch can move between our build and this
        # call, and the deployment must name the commit that is actually deployed.
        "ref": sha or ref,
        "environment": environment,
        "payload": dict(payload or {}),
        # auto_merge would merge the default branch into the ref first (a new commit we
        # never built); required_contexts [] turns off GitHub's "every status must be
        # success" gate, which our own pending statuses on this commit would trip (409).
        # Shipyard has already gated the release itself.
        "auto_merge": False,
        "required_contexts": [],
        # Always said: GitHub's own default guesses production from the name "production".
        "production_environment": production,
        "transient_environment": transient,
    }
    if description:
        body["description"] = truncate(description, MAX_DESCRIPTION)
    return body


def deployment_status_body(
    state: DeploymentState,
    environment_url: str | None,
    log_url: str | None,
    description: str | None,
) -> dict[str, Any]:
    """POST …/deployments/{id}/statuses. `auto_inactive` is left out: GitHub's default (true)
    marks the environment's earlier successful deployments inactive, as it should."""
    body: dict[str, Any] = {"state": DEPLOYMENT_STATE[state]}
    if environment_url:
        body["environment_url"] = environment_url
    if log_url:
        body["log_url"] = log_url
    if description:
        body["description"] = truncate(description, MAX_DESCRIPTION)
    return body


# Translation of GitHub's answers


def deployment_from(data: Mapping[str, Any], *, environment: str, sha: str, ref: str) -> Deployment:
    return Deployment(
        id=data["id"],
        environment=data.get("environment", environment),
        sha=data.get("sha", sha),
        ref=data.get("ref", ref),
        url=data.get("url"),
    )


def comparison_from(data: Mapping[str, Any], *, base: str, head: str) -> Comparison:
    return Comparison(
        base=base,
        head=head,
        ahead_by=int(data.get("ahead_by", 0)),
        behind_by=int(data.get("behind_by", 0)),
        commits=[commit["sha"] for commit in data.get("commits", [])],
        files=[file["filename"] for file in data.get("files", [])],
    )


def permission_from(data: Mapping[str, Any]) -> Permission:
    # `permission` folds maintain into write and triage into read; `role_name` does not
    # (but can be a custom role's name, which we cannot rank: then `permission` decides).
    for word in (data.get("role_name"), data.get("permission")):
        if word in PERMISSION:
            return PERMISSION[word]
    return Permission.NONE


def comment_from(data: Mapping[str, Any]) -> Comment:
    """An issue comment; a pull request's conversation is its issue's, so `issue_url`
    (…/issues/7) names the pull request too."""
    user = data.get("user") or {}
    return Comment(
        id=int(data["id"]),
        body=data.get("body") or "",
        author=user.get("login"),
        url=data.get("html_url"),
        author_is_bot=user.get("type") == "Bot",
        pull_request=number_at_end(data.get("issue_url")),
    )


def identity_from(data: Mapping[str, Any], *, app: bool) -> Identity:
    """`GET /app` (the App: its bot is `<slug>[bot]`) or `GET /user` (a token's user)."""
    if app:
        return Identity(login=f"{data['slug']}[bot]", is_app=True)
    return Identity(login=str(data["login"]))


def number_at_end(url: Any) -> int | None:
    """The number a URL's path ends with (`…/issues/7` -> 7), or None."""
    last = urlsplit(url).path.rstrip("/").rpartition("/")[2] if isinstance(url, str) else ""
    return int(last) if last.isdigit() else None


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
