"""Shipyard's vocabulary in Gitea's words and back: tables, paths and pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

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
    WorkflowRun,
)

# The vocabulary in Gitea's words, and Gitea's words in the vocabulary.

STATE_TO_GITEA: dict[CommitState, str] = {
    CommitState.PENDING: "pending",
    CommitState.RUNNING: "pending",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failure",
    CommitState.ERROR: "error",
}

# Gitea ranks `warning` between failure and pending (worse than pending), and it is a finished
# verdict: as PENDING it would keep anything waiting for the context waiting forever, so it is
# FAILURE. `skipped` ranks above success (GitHub lets skipped checks pass too). `running`,
# `neutral` and `timed_out` appear in check-run-backed statuses of newer Gitea / Forgejo. A
# word we do not know is ERROR, as Gitea itself ranks unknown states with error.
_STATE_FROM_GITEA: dict[str, CommitState] = {
    "pending": CommitState.PENDING,
    "running": CommitState.PENDING,
    "success": CommitState.SUCCESS,
    "skipped": CommitState.SUCCESS,
    "neutral": CommitState.SUCCESS,
    "failure": CommitState.FAILURE,
    "warning": CommitState.FAILURE,
    "timed_out": CommitState.FAILURE,
    "error": CommitState.ERROR,
}

# Gitea has no deployments API: a deployment is the commit status
# `shipyard/deploy/<environment>` (DEPLOY_CONTEXT), which is also the environment's commit
# status on that commit (ADR 7). `inactive` (GitHub: a successful deployment superseded by a
# newer one) stays SUCCESS: the deploy did succeed, and a failure or pending mark would make
# the old commit look broken.
DEPLOYMENT_STATE: dict[DeploymentState, CommitState] = {
    DeploymentState.QUEUED: CommitState.PENDING,
    DeploymentState.IN_PROGRESS: CommitState.PENDING,
    DeploymentState.SUCCESS: CommitState.SUCCESS,
    DeploymentState.FAILURE: CommitState.FAILURE,
    DeploymentState.ERROR: CommitState.ERROR,
    DeploymentState.INACTIVE: CommitState.SUCCESS,
}

DEPLOYMENT_WORDS: dict[DeploymentState, str] = {
    DeploymentState.QUEUED: "Deployment to {env} is queued",
    DeploymentState.IN_PROGRESS: "Deploying to {env}",
    DeploymentState.SUCCESS: "Deployed to {env}",
    DeploymentState.FAILURE: "Deployment to {env} failed",
    DeploymentState.ERROR: "Deployment to {env} errored",
    DeploymentState.INACTIVE: "Deployment to {env} is no longer active",
}

# Gitea's default [ui] REACTIONS: +1, -1, laugh, hooray, confused, heart, rocket, eyes. An
# instance may allow fewer; Gitea then answers 403 ("... is not an allowed reaction").
REACTION_TO_GITEA: dict[Reaction, str] = {
    Reaction.THUMBS_UP: "+1",
    Reaction.THUMBS_DOWN: "-1",
    Reaction.EYES: "eyes",
    Reaction.ROCKET: "rocket",
    Reaction.CONFUSED: "confused",
    Reaction.HOORAY: "hooray",
}

# RepoCollaboratorPermission.permission is Gitea's AccessMode: none, read, write, admin, owner.
PERMISSION_FROM_GITEA: dict[str, Permission] = {
    "none": Permission.NONE,
    "read": Permission.READ,
    "write": Permission.WRITE,
    "admin": Permission.ADMIN,
    "owner": Permission.ADMIN,
}

# A workflow run. Gitea (>= 1.25, ActionWorkflowRun) says `status` queued / pending / waiting /
# requested / in_progress / completed with `conclusion` success / failure / cancelled / skipped.
# Forgejo's ActionRun has no conclusion: `status` is the outcome itself (success, failure,
# cancelled, skipped, running, waiting, blocked, unknown). One table reads both.
_RUN_STATUS: dict[str, RunStatus] = {
    "queued": RunStatus.QUEUED,
    "pending": RunStatus.QUEUED,
    "waiting": RunStatus.QUEUED,
    "requested": RunStatus.QUEUED,
    "blocked": RunStatus.QUEUED,
    "unknown": RunStatus.QUEUED,
    "in_progress": RunStatus.RUNNING,
    "running": RunStatus.RUNNING,
    "cancelling": RunStatus.RUNNING,
    "success": RunStatus.SUCCEEDED,
    "skipped": RunStatus.SUCCEEDED,  # nothing ran, nothing failed: like GitHub's skipped check
    "failure": RunStatus.FAILED,
    "timed_out": RunStatus.FAILED,
    "cancelled": RunStatus.CANCELLED,
}

# Gitea's default [repository.pull-request] WORK_IN_PROGRESS_PREFIXES, plus GitLab's "Draft:".
_DRAFT_PREFIXES = ("WIP:", "[WIP]", "DRAFT:")
DRAFT_TITLE_PREFIX = "WIP: "
DEPLOY_CONTEXT = "shipyard/deploy/{env}"


# Reading Gitea's answers


def status_report_from(status: Mapping[str, Any]) -> StatusReport:
    # Gitea's CommitStatus carries the state in `status`, though CreateStatusOption takes it
    # as `state`.
    word = str(status.get("status") or status.get("state") or "")
    return StatusReport(
        context=str(status.get("context") or ""),
        state=_STATE_FROM_GITEA.get(word, CommitState.ERROR),
        description=status.get("description") or None,
        target_url=status.get("target_url") or None,
    )


def comment_from(comment: Mapping[str, Any]) -> Comment:
    """A comment. Gitea fills `pull_request_url` (…/pulls/12) for a pull request's comments
    and `issue_url` for an issue's. Gitea's users carry no bot flag (a bot is an ordinary
    account there), so `author_is_bot` stays False."""
    url = comment.get("pull_request_url") or comment.get("issue_url")
    return Comment(
        id=int(comment["id"]),
        body=str(comment.get("body") or ""),
        author=_login(comment.get("user")),
        url=comment.get("html_url") or None,
        pull_request=_number_at_end(url),
    )


def identity_from(user: Mapping[str, Any]) -> Identity:
    """`GET /user`: the token's user."""
    return Identity(login=str(user["login"]))


def pull_request_from(pull: Mapping[str, Any]) -> PullRequest:
    head, base = pull.get("head") or {}, pull.get("base") or {}
    merged = bool(pull.get("merged"))
    title = str(pull.get("title") or "")
    draft = pull.get("draft")  # newer Gitea and Forgejo; older ones only know the prefix
    return PullRequest(
        number=int(pull["number"]),
        title=title,
        head_ref=str(head.get("ref") or ""),
        head_sha=str(head.get("sha") or ""),
        base_ref=str(base.get("ref") or ""),
        state="merged" if merged else str(pull.get("state") or "open"),
        url=pull.get("html_url") or None,
        draft=bool(draft) if draft is not None else has_draft_prefix(title),
        merged=merged,
        mergeable=pull.get("mergeable"),
        from_fork=_is_from_fork(head, base),
        author=_login(pull.get("user")),
    )


def _is_from_fork(head: Mapping[str, Any], base: Mapping[str, Any]) -> bool:
    """The head repository is another one, or gone (a deleted fork leaves `head.repo` null)."""
    head_repo, base_repo = head.get("repo"), base.get("repo") or {}
    if not head_repo:
        return True
    head_id = head.get("repo_id") or head_repo.get("id")
    base_id = base.get("repo_id") or base_repo.get("id")
    return bool(head_id != base_id)


def workflow_run_from(run: Mapping[str, Any]) -> WorkflowRun:
    status = str(run.get("status") or "")
    conclusion = run.get("conclusion") or None
    if status == "completed":  # Gitea: the outcome is in `conclusion`
        state = _RUN_STATUS.get(str(conclusion), RunStatus.FAILED)
    else:  # Forgejo: the outcome is the status itself
        state = _RUN_STATUS.get(status, RunStatus.QUEUED)
        if state.finished:
            conclusion = status
    return WorkflowRun(
        id=int(run["id"]),
        status=state,
        url=run.get("html_url") or None,
        conclusion=str(conclusion) if conclusion and state.finished else None,
    )


def is_dispatch_of(run: Mapping[str, Any], workflow: str, branch: str | None) -> bool:
    """Gitea names the workflow in `path` ("ci.yml@refs/heads/main"), Forgejo in `workflow_id`;
    the branch is Gitea's `head_branch` or Forgejo's `prettyref`."""
    named = str(run.get("path") or "").split("@", 1)[0] == workflow or (
        run.get("workflow_id") == workflow
    )
    event = run.get("event") or run.get("trigger_event")
    on_branch = branch is None or (run.get("head_branch") or run.get("prettyref")) == branch
    return named and event in (None, "", "workflow_dispatch") and on_branch


def joins(pull: PullRequest, *, head: str, base: str) -> bool:
    """The pull request merges branch `head` of this repository into `base`."""
    return (pull.head_ref, pull.base_ref) == (head, base) and not pull.from_fork


def changed_files(commits: list[Mapping[str, Any]]) -> list[str]:
    """Every file the commits touch, once, in the order they were first touched."""
    files: dict[str, None] = {}
    for commit in commits:
        for changed in commit.get("files") or []:
            files.setdefault(str(changed.get("filename")), None)
    return list(files)


def _number_at_end(url: Any) -> int | None:
    last = urlsplit(url).path.rstrip("/").rpartition("/")[2] if isinstance(url, str) else ""
    return int(last) if last.isdigit() else None


def _login(user: Any) -> str | None:
    return str(user["login"]) if isinstance(user, dict) and user.get("login") else None


def has_draft_prefix(title: str) -> bool:
    return title.upper().startswith(_DRAFT_PREFIXES)


def as_int(value: Any) -> int:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0


# Building paths


def segment(value: str) -> str:
    """One path segment, percent-encoded ("/" too: Gitea's PathParam unescapes it)."""
    return quote(value, safe="")


def repo_path(repo: Repo) -> str:
    return f"/repos/{segment(repo.owner)}/{segment(repo.name)}"


def compare_path(repo: Repo, base: str, head: str) -> str:
    # {basehead} is a catch-all route, so branch names keep their slashes.
    return f"{repo_path(repo)}/compare/{quote(base, safe='/')}...{quote(head, safe='/')}"


def branch_of(ref: str) -> str | None:
    """The branch a ref names; None for a tag (the run list can only filter branches)."""
    if ref.startswith("refs/tags/"):
        return None
    return ref.removeprefix("refs/heads/")


def present(**fields: str | None) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value}


def web_root(base_url: str) -> str:
    """The server's web root from GITEA_URL, with or without a trailing /api/v1."""
    root = base_url.strip().rstrip("/")
    return root.removesuffix("/api/v1")
