"""Shipyard's vocabulary in GitLab's words and back: tables and pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from providers.vocabulary import (
    Comment,
    CommitState,
    DeploymentState,
    Identity,
    Permission,
    PullRequest,
    Reaction,
    Repo,
    RunStatus,
    StatusReport,
)

# POST /projects/:id/statuses/:sha takes pending, running, success, failed, canceled.
COMMIT_STATE: dict[CommitState, str] = {
    CommitState.PENDING: "pending",
    CommitState.RUNNING: "running",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failed",
    CommitState.ERROR: "failed",
}

# Back from GET …/commits/:sha/statuses; anything else (created, running, manual…) is pending.
_REPORTED_STATE: dict[str, CommitState] = {
    "success": CommitState.SUCCESS,
    "failed": CommitState.FAILURE,
    "canceled": CommitState.ERROR,
}

# The deployments API takes only running, success, failed and canceled, on create and update
# alike (lib/api/deployments.rb: `values: %w[running success failed canceled]`), although
# deployments it lists can be `created` or `blocked`; so a queued deployment is `running`.
DEPLOYMENT_STATUS: dict[DeploymentState, str] = {
    DeploymentState.QUEUED: "running",
    DeploymentState.IN_PROGRESS: "running",
    DeploymentState.SUCCESS: "success",
    DeploymentState.FAILURE: "failed",
    DeploymentState.ERROR: "failed",
    DeploymentState.INACTIVE: "canceled",
}

# An environment's tier (GitLab's deployment_tier): production, staging, testing, development
# or other. Shipyard says production itself; any other tier is guessed from the name, as
# GitLab guesses it (Environment#guess_tier), but by how the name's words start rather than
# by any substring ("latest" is not a test, "express" is not pre-production); first match wins.
_TIER_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("development", ("dev", "review")),
    ("testing", ("test", "qa")),
    ("staging", ("staging", "stage", "pre")),
)
_WORDS = re.compile(r"[a-z0-9]+")

# Award emoji names, without colons.
EMOJI: dict[Reaction, str] = {
    Reaction.THUMBS_UP: "thumbsup",
    Reaction.THUMBS_DOWN: "thumbsdown",
    Reaction.EYES: "eyes",
    Reaction.ROCKET: "rocket",
    Reaction.CONFUSED: "confused",
    Reaction.HOORAY: "tada",
}

# Access levels (members API): 0 none, 5 minimal, 10 guest, 15 planner, 20 reporter,
# 30 developer, 40 maintainer, 50 owner. A level between two known ones gets the lower.
_ACCESS: dict[int, Permission] = {
    0: Permission.NONE,
    5: Permission.NONE,
    10: Permission.READ,
    15: Permission.TRIAGE,
    20: Permission.TRIAGE,
    30: Permission.WRITE,
    40: Permission.MAINTAIN,
    50: Permission.ADMIN,
}

_RUN_STATUS: dict[str, RunStatus] = {
    "created": RunStatus.QUEUED,
    "waiting_for_resource": RunStatus.QUEUED,
    "preparing": RunStatus.QUEUED,
    "pending": RunStatus.QUEUED,
    "scheduled": RunStatus.QUEUED,
    "manual": RunStatus.QUEUED,
    "running": RunStatus.RUNNING,
    "canceling": RunStatus.RUNNING,  # GitLab 17: on its way to canceled, not there yet
    "success": RunStatus.SUCCEEDED,
    "failed": RunStatus.FAILED,
    "canceled": RunStatus.CANCELLED,
    "skipped": RunStatus.CANCELLED,
}

_PR_STATE = {"opened": "open", "closed": "closed", "locked": "closed", "merged": "merged"}

# While these hold, GitLab has not finished working out whether the branches merge.
_STILL_CHECKING = frozenset(
    {
        "preparing",
        "checking",
        "unchecked",
        "approvals_syncing",
        "cannot_be_merged_recheck",
        "cannot_be_merged_rechecking",
    }
)

DRAFT_PREFIX = "Draft: "


def project_path(repo: Repo) -> str:
    """`/projects/group%2Fsub%2Fproject`: a project is addressed by its URL-encoded path."""
    return f"/projects/{encode(repo.full_name)}"


def encode(segment: str) -> str:
    """One URL path segment, `/` included (file paths, project paths, tag names)."""
    return quote(segment, safe="")


def permission_for(access_level: int) -> Permission:
    known = [level for level in _ACCESS if level <= access_level]
    return _ACCESS[max(known)] if known else Permission.NONE


def run_status(status: str) -> RunStatus:
    """A pipeline's status; one GitLab adds later is taken as not finished yet."""
    return _RUN_STATUS.get(status, RunStatus.QUEUED)


def environment_tier(name: str, *, production: bool) -> str:
    """The tier of environment `name`: `production` when Shipyard says so; else the first
    tier one of the name's words starts with a word of (`review/fix-login` is development,
    `qa2` testing, `preprod` staging); else `other`. A name that only looks like production
    (`prod-eu`) is `other` unless Shipyard says it is production."""
    if production:
        return "production"
    words = _WORDS.findall(name.lower())
    for tier, starts in _TIER_WORDS:
        if any(word.startswith(starts) for word in words):
            return tier
    return "other"


def latest_reports(statuses: list[Mapping[str, Any]]) -> list[StatusReport]:
    """One report per status name: the newest (highest id) one."""
    newest: dict[str, Mapping[str, Any]] = {}
    for status in statuses:
        name = str(status.get("name") or "default")
        if name not in newest or int(status.get("id") or 0) > int(newest[name].get("id") or 0):
            newest[name] = status
    return [
        StatusReport(
            context=name,
            state=_REPORTED_STATE.get(str(status.get("status")), CommitState.PENDING),
            description=status.get("description"),
            target_url=status.get("target_url"),
        )
        for name, status in newest.items()
    ]


def comment_from(note: Mapping[str, Any]) -> Comment:
    """A note. `author.bot` is true for project / group access-token bot users (absent on
    older GitLab: False); a system note ("added 1 commit") is GitLab's own, so a bot's."""
    author = note.get("author") or {}
    on_merge_request = note.get("noteable_type") == "MergeRequest"
    iid = note.get("noteable_iid")
    return Comment(
        id=int(note["id"]),
        body=str(note.get("body") or ""),
        author=author.get("username"),
        author_is_bot=bool(author.get("bot")) or bool(note.get("system")),
        pull_request=int(iid) if on_merge_request and isinstance(iid, int) else None,
    )


def identity_from(user: Mapping[str, Any]) -> Identity:
    """`GET /user`: the token's user (a project / group token's is its bot user)."""
    return Identity(login=str(user["username"]))


def pull_request_from(mr: Mapping[str, Any]) -> PullRequest:
    """A merge request (GET …/merge_requests/:iid or one of a list) as a pull request."""
    state = _PR_STATE.get(str(mr.get("state")), "closed")
    author = mr.get("author") or {}
    return PullRequest(
        number=int(mr["iid"]),
        title=str(mr.get("title") or ""),
        head_ref=str(mr.get("source_branch") or ""),
        head_sha=str(mr.get("sha") or ""),
        base_ref=str(mr.get("target_branch") or ""),
        state=state,
        url=mr.get("web_url"),
        draft=bool(mr.get("draft", mr.get("work_in_progress", False))),
        merged=state == "merged",
        mergeable=mergeable(mr),
        from_fork=is_from_fork(mr),
        author=author.get("username"),
    )


def is_from_fork(mr: Mapping[str, Any]) -> bool:
    return mr.get("source_project_id") != mr.get("target_project_id")


def mergeable(mr: Mapping[str, Any]) -> bool | None:
    """GitHub's sense of `mergeable`: the branches merge without conflicts.

    That is GitLab's `merge_status` (`can_be_merged` / `cannot_be_merged`), deprecated in 15.6
    but still sent; `detailed_merge_status` mixes in approvals, CI and drafts, so it only tells
    us when GitLab is still checking.
    """
    detailed, legacy = mr.get("detailed_merge_status"), mr.get("merge_status")
    if detailed in _STILL_CHECKING or legacy in _STILL_CHECKING:
        return None
    return {"can_be_merged": True, "cannot_be_merged": False}.get(str(legacy))


def draft_title(title: str, draft: bool) -> str:
    """GitLab has no draft flag on create: a `Draft: ` title prefix makes one."""
    if not draft or title.lower().startswith(("draft:", "[draft]", "(draft)")):
        return title
    return DRAFT_PREFIX + title
