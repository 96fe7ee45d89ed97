"""The Gitea (and Forgejo) client: the provider interface over Gitea's REST API at /api/v1.

Every call goes through `GiteaClient._request`, the one network boundary. Paths, bodies and
response fields follow Gitea's swagger (templates/swagger/v1_json.tmpl, generated from the
`swagger:operation` comments in routers/api/v1) unless a comment says otherwise; Forgejo serves
the same API with a few differences, noted where they matter.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr

from app.settings import Settings
from providers.base import Provider
from providers.errors import (
    NotFound,
    ProviderError,
    TransportError,
    Unsupported,
    ValidationFailed,
    error_for_response,
)
from providers.http import tls_context
from providers.retry import RetryPolicy, with_retries
from providers.vocabulary import (
    CloneAuth,
    Comment,
    CommitState,
    CommitStatus,
    Comparison,
    Deployment,
    DeploymentState,
    Permission,
    PullRequest,
    Reaction,
    Repo,
    RunStatus,
    StatusReport,
    WorkflowRun,
)

__all__ = ["GiteaClient", "forgejo_from_settings", "from_settings"]

JSON = "application/json"
PAGE_SIZE = 50  # Gitea's default [api] MAX_RESPONSE_ITEMS
_DETAIL_LIMIT = 300
_DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

# The vocabulary in Gitea's words, and Gitea's words in the vocabulary.

_STATE_TO_GITEA: dict[CommitState, str] = {
    CommitState.PENDING: "pending",
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

# Gitea has no deployments API: a deployment is the commit status `deploy/<environment>`.
# `inactive` (GitHub: a successful deployment superseded by a newer one) stays SUCCESS: the
# deploy did succeed, and a failure or pending mark would make the old commit look broken.
_DEPLOYMENT_STATE: dict[DeploymentState, CommitState] = {
    DeploymentState.QUEUED: CommitState.PENDING,
    DeploymentState.IN_PROGRESS: CommitState.PENDING,
    DeploymentState.SUCCESS: CommitState.SUCCESS,
    DeploymentState.FAILURE: CommitState.FAILURE,
    DeploymentState.ERROR: CommitState.ERROR,
    DeploymentState.INACTIVE: CommitState.SUCCESS,
}

_DEPLOYMENT_WORDS: dict[DeploymentState, str] = {
    DeploymentState.QUEUED: "Deployment to {env} is queued",
    DeploymentState.IN_PROGRESS: "Deploying to {env}",
    DeploymentState.SUCCESS: "Deployed to {env}",
    DeploymentState.FAILURE: "Deployment to {env} failed",
    DeploymentState.ERROR: "Deployment to {env} errored",
    DeploymentState.INACTIVE: "Deployment to {env} is no longer active",
}

# Gitea's default [ui] REACTIONS: +1, -1, laugh, hooray, confused, heart, rocket, eyes. An
# instance may allow fewer; Gitea then answers 403 ("... is not an allowed reaction").
_REACTION_TO_GITEA: dict[Reaction, str] = {
    Reaction.THUMBS_UP: "+1",
    Reaction.THUMBS_DOWN: "-1",
    Reaction.EYES: "eyes",
    Reaction.ROCKET: "rocket",
    Reaction.CONFUSED: "confused",
    Reaction.HOORAY: "hooray",
}

# RepoCollaboratorPermission.permission is Gitea's AccessMode: none, read, write, admin, owner.
_PERMISSION_FROM_GITEA: dict[str, Permission] = {
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
_DRAFT_TITLE_PREFIX = "WIP: "
_DEPLOY_CONTEXT = "deploy/{env}"
# trigger_workflow's run id when the host accepted the dispatch but cannot name the run.
_UNIDENTIFIED_RUN = "dispatched:"


class GiteaClient(Provider):
    """One Gitea or Forgejo server, reached with a personal access token."""

    def __init__(
        self,
        base_url: str,
        token: str | SecretStr,
        *,
        name: str = "gitea",
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = _DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self._web_url = _web_root(base_url)
        self._api_url = f"{self._web_url}/api/v1"
        self._host = urlsplit(self._web_url).netloc or self._web_url
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            verify=tls_context(),
            base_url=self._api_url,
            headers={
                "Authorization": f"token {self._token.get_secret_value()}",
                "User-Agent": "shipyard",
            },
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"GiteaClient(name={self.name!r}, url={self._web_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def pull_request_diff(self, repo: Repo, number: int) -> str:
        """GET /repos/{owner}/{repo}/pulls/{index}.diff: the unified diff as plain text."""
        response = await self._request(
            "GET", f"{_repo_path(repo)}/pulls/{number}.diff", accept="text/plain"
        )
        return response.text

    async def clone_auth(self, repo: Repo) -> CloneAuth:
        """HTTPS clone URL on the web host; the token as the password of a Basic header
        (Gitea and Forgejo accept a token with any user name)."""
        basic = base64.b64encode(f"shipyard:{self._token.get_secret_value()}".encode()).decode()
        return CloneAuth(
            url=f"{self._web_url}/{repo.full_name}.git", header=f"Authorization: Basic {basic}"
        )

    # The network boundary

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        accept: str = JSON,
    ) -> httpx.Response:
        """One API call under retries; a 2xx answer, or the taxonomy's error for anything else."""
        where = f"/api/v1{path}"

        async def attempt() -> httpx.Response:
            try:
                response = await self._http.request(
                    method, path, params=params, json=body, headers={"Accept": accept}
                )
            except httpx.TransportError as error:
                detail = self._scrub(f"{type(error).__name__}: {error}"[:_DETAIL_LIMIT])
                raise TransportError(self._host, method, where, detail=detail) from error
            if response.is_success:
                return response
            raise error_for_response(
                self._host,
                method,
                where,
                response.status_code,
                {name.lower(): value for name, value in response.headers.items()},
                self._scrub(_error_detail(response)),
                now=self._retry.clock(),
            )

        return await with_retries(self._retry, attempt)

    def _scrub(self, text: str) -> str:
        """Belt and braces: a host that echoes the token back must not put it in an error."""
        secret = self._token.get_secret_value()
        return text.replace(secret, "***") if secret else text

    async def _get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return _json(await self._request("GET", path, params=params))

    async def _pages(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list (`page`/`limit`), until an empty page or X-Total-Count."""
        seen, page = 0, 1
        while True:
            response = await self._request(
                "GET", path, params={**(params or {}), "page": page, "limit": PAGE_SIZE}
            )
            items = _json_list(response)
            for item in items:
                yield item
            seen += len(items)
            total = response.headers.get("x-total-count", "")
            if not items or (total.isdigit() and seen >= int(total)):
                return
            page += 1

    # Commit statuses

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        # CreateStatusOption: {state, target_url, description, context}.
        body = {"state": _STATE_TO_GITEA[status.state], "context": status.context}
        body |= _present(description=status.description, target_url=status.target_url)
        await self._request("POST", f"{_repo_path(repo)}/statuses/{_segment(sha)}", body=body)

    async def list_commit_statuses(self, repo: Repo, sha: str) -> list[StatusReport]:
        """The newest status per context. Gitea keeps every status ever set (one row each), so
        the list is read whole and the highest id per context wins; its default order
        (created_unix DESC) ties within a second."""
        latest: dict[str, dict[str, Any]] = {}
        async for status in self._pages(f"{_repo_path(repo)}/commits/{_segment(sha)}/statuses"):
            context = str(status.get("context") or "")
            if context not in latest or _int(status.get("id")) > _int(latest[context].get("id")):
                latest[context] = status
        return [_status_report(status) for status in latest.values()]

    # Deployments: commit statuses named deploy/<environment>

    async def create_deployment(
        self,
        repo: Repo,
        *,
        ref: str,
        sha: str,
        environment: str,
        description: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Deployment:
        """A pending `deploy/<environment>` status; `payload` has nowhere to go on Gitea.

        The id is `<sha>:<environment>` (a sha has no colon), all `set_deployment_status` needs.
        """
        deployment = Deployment(
            id=f"{sha}:{environment}", environment=environment, sha=sha, ref=ref
        )
        await self.set_deployment_status(
            repo, deployment, DeploymentState.QUEUED, description=description
        )
        return deployment

    async def set_deployment_status(
        self,
        repo: Repo,
        deployment: Deployment,
        state: DeploymentState,
        *,
        environment_url: str | None = None,
        log_url: str | None = None,
        description: str | None = None,
    ) -> None:
        sha, environment = self._deployment_target(deployment)
        words = _DEPLOYMENT_WORDS[state].format(env=environment)
        status = CommitStatus(
            state=_DEPLOYMENT_STATE[state],
            context=_DEPLOY_CONTEXT.format(env=environment),
            description=f"{words}: {description}" if description else words,
            target_url=log_url or environment_url,
        )
        await self.set_commit_status(repo, sha, status)

    def _deployment_target(self, deployment: Deployment) -> tuple[str, str]:
        sha, colon, environment = str(deployment.id).partition(":")
        if colon and sha and environment:
            return sha, environment
        if deployment.sha:
            return deployment.sha, deployment.environment
        raise ValidationFailed(
            self._host,
            "set_deployment_status",
            "-",
            detail=f"deployment id {deployment.id!r} is not '<sha>:<environment>' and has no sha",
        )

    # Pull-request comments

    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment:
        path = f"{_repo_path(repo)}/issues/{number}/comments"
        return _comment(_json(await self._request("POST", path, body={"body": body})))

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        path = f"{_repo_path(repo)}/issues/comments/{comment_id}"
        response = await self._request("PATCH", path, body={"body": body})
        if response.status_code == 204:  # Gitea: a comment type without content
            return Comment(id=comment_id, body=body)
        return _comment(_json(response))

    async def iter_comments(self, repo: Repo, number: int) -> AsyncIterator[Comment]:
        """Gitea's GET /issues/{index}/comments has no page/limit: it answers every comment at
        once (the handler sets no ListOptions), so this is one request however long the thread.
        """
        comments = _json_list(
            await self._request("GET", f"{_repo_path(repo)}/issues/{number}/comments")
        )
        for comment in comments:
            yield _comment(comment)

    async def add_reaction(
        self, repo: Repo, number: int, comment_id: int, reaction: Reaction
    ) -> None:
        # EditReactionOption is {content}; 201 when added, 200 when it was already there.
        path = f"{_repo_path(repo)}/issues/comments/{comment_id}/reactions"
        await self._request("POST", path, body={"content": _REACTION_TO_GITEA[reaction]})

    # Repository content

    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        raw = f"{_repo_path(repo)}/raw/{quote(path.lstrip('/'), safe='/')}"
        try:
            response = await self._request(
                "GET", raw, params={"ref": ref}, accept="application/octet-stream"
            )
        except NotFound:
            return None
        return response.content

    async def default_branch(self, repo: Repo) -> str:
        return str((await self._get_json(_repo_path(repo)))["default_branch"])

    async def get_pull_request(self, repo: Repo, number: int) -> PullRequest:
        return _pull_request(await self._get_json(f"{_repo_path(repo)}/pulls/{number}"))

    async def compare(self, repo: Repo, base: str, head: str) -> Comparison:
        """Gitea (>= 1.22) answers only `total_commits` and `commits` (newest first, each with
        its `files`), from the merge base to head. There is no behind_by: it is the size of
        the reverse comparison, one more request. `verification` and `files` are query
        switches the handler reads although the swagger does not list them."""
        ahead = await self._get_json(
            _compare_path(repo, base, head), params={"verification": "false"}
        )
        behind = await self._get_json(
            _compare_path(repo, head, base), params={"verification": "false", "files": "false"}
        )
        commits = list(reversed(ahead.get("commits") or []))
        return Comparison(
            base=base,
            head=head,
            ahead_by=_int(ahead.get("total_commits")),
            behind_by=_int(behind.get("total_commits")),
            commits=[str(commit["sha"]) for commit in commits],
            files=_changed_files(commits),
        )

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        """Gitea answers 200 for any existing user, collaborator or not (a non-collaborator
        gets the access they have anyway: read on a public repository, none on a private
        one), and 404 only for an unknown user, which is NONE. 403 means the token may not
        ask about others (it needs admin on the repository): raised, never read as NONE."""
        path = f"{_repo_path(repo)}/collaborators/{_segment(username)}/permission"
        try:
            answer = await self._get_json(path)
        except NotFound:
            return Permission.NONE
        return _PERMISSION_FROM_GITEA.get(str(answer.get("permission")), Permission.NONE)

    # CI: Gitea Actions / Forgejo Actions

    async def trigger_workflow(
        self, repo: Repo, workflow: str, ref: str, inputs: Mapping[str, str] | None = None
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
        path = f"{_repo_path(repo)}/actions/workflows/{_segment(workflow)}/dispatches"
        response = await self._request(
            "POST",
            path,
            params={"return_run_details": "true"},
            body={"ref": ref, "inputs": dict(inputs or {}), "return_run_info": True},
        )
        if response.status_code != 204 and response.content:
            details = _json(response)
            if run_id := details.get("workflow_run_id") or details.get("id"):
                return WorkflowRun(
                    id=int(run_id), status=RunStatus.QUEUED, url=self._run_url(repo, details)
                )
        return await self._newest_dispatched_run(repo, workflow, ref)

    def _run_url(self, repo: Repo, details: Mapping[str, Any]) -> str | None:
        if url := details.get("html_url"):
            return str(url)
        if number := details.get("run_number"):  # Forgejo's web pages use the run number
            return f"{self._web_url}/{repo.full_name}/actions/runs/{number}"
        return None

    async def _newest_dispatched_run(self, repo: Repo, workflow: str, ref: str) -> WorkflowRun:
        branch = _branch_of(ref)
        params: dict[str, str | int] = {"event": "workflow_dispatch", "limit": PAGE_SIZE}
        if branch:
            params["branch"] = branch
        try:
            listing = await self._get_json(f"{_repo_path(repo)}/actions/runs", params)
        except NotFound:
            listing = {}
        runs = [
            run
            for run in listing.get("workflow_runs") or []
            if _is_dispatch_of(run, workflow, branch)
        ]
        if not runs:
            return WorkflowRun(
                id=f"{_UNIDENTIFIED_RUN}{workflow}@{ref}",
                status=RunStatus.QUEUED,
                url=f"{self._web_url}/{repo.full_name}/actions?workflow={quote(workflow)}",
            )
        return _workflow_run(max(runs, key=lambda run: _int(run.get("id"))))

    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
        """GET …/actions/runs/{run} (Gitea >= 1.25; Forgejo). Where that API does not exist
        Gitea answers 404 for the run list as well, and that is Unsupported."""
        run = str(run_id)
        path = f"{_repo_path(repo)}/actions/runs/{_segment(run)}"
        if not run.isdigit():
            raise Unsupported(
                self._host,
                "GET",
                f"/api/v1{path}",
                detail=(
                    f"the workflow was dispatched ({run.removeprefix(_UNIDENTIFIED_RUN)}) but "
                    "this server did not name the run, so it cannot be followed: Gitea 1.25 or "
                    "later (or Forgejo with Actions) is needed to read workflow runs"
                ),
            )
        try:
            return _workflow_run(await self._get_json(path))
        except NotFound as missing:
            if await self._has_run_api(repo):
                raise
            raise Unsupported(
                self._host,
                "GET",
                missing.path,
                404,
                "this server has no workflow-run API (GET …/actions/runs answers 404 too): "
                "Gitea 1.25 or later is needed, and Actions must be enabled for the repository",
            ) from missing

    async def _has_run_api(self, repo: Repo) -> bool:
        try:
            await self._request("GET", f"{_repo_path(repo)}/actions/runs", params={"limit": 1})
        except NotFound:
            return False
        return True

    # Pull requests

    async def create_pull_request(
        self, repo: Repo, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequest:
        """CreatePullRequestOption has no draft flag: Gitea's draft is a "WIP:" title prefix."""
        if draft and not _has_draft_prefix(title):
            title = f"{_DRAFT_TITLE_PREFIX}{title}"
        payload = {"head": head, "base": base, "title": title, "body": body}
        response = await self._request("POST", f"{_repo_path(repo)}/pulls", body=payload)
        return _pull_request(_json(response))

    async def find_open_pull_request(
        self, repo: Repo, *, head: str, base: str
    ) -> PullRequest | None:
        """GET …/pulls/{base}/{head} answers *a* pull request for the pair, in any state and
        in no particular order (GetPullRequestByBaseHeadInfo filters neither). An open one
        is the answer, a 404 means there is none; a closed one means the open pulls are read
        page by page to find one that may also exist."""
        path = f"{_repo_path(repo)}/pulls/{_segment(base)}/{_segment(head)}"
        try:
            found = _pull_request(await self._get_json(path))
        except NotFound:
            return None
        if found.state == "open":
            return found
        async for pull in self._pages(f"{_repo_path(repo)}/pulls", {"state": "open"}):
            candidate = _pull_request(pull)
            if _joins(candidate, head=head, base=base):
                return candidate
        return None


# Reading Gitea's answers


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        request = response.request
        raise ProviderError(
            request.url.host,
            request.method,
            request.url.path,
            response.status_code,
            "the answer is not JSON",
        ) from error


def _json_list(response: httpx.Response) -> list[dict[str, Any]]:
    data = _json(response)
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _error_detail(response: httpx.Response) -> str:
    """Gitea's APIError body is {message, url} (validation errors add `errors`)."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:_DETAIL_LIMIT]
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        errors = data.get("errors")
        if errors:
            message = f"{message} {errors}".strip()
        return message[:_DETAIL_LIMIT]
    return str(data)[:_DETAIL_LIMIT]


def _status_report(status: Mapping[str, Any]) -> StatusReport:
    # Gitea's CommitStatus carries the state in `status`, though CreateStatusOption takes it
    # as `state`.
    word = str(status.get("status") or status.get("state") or "")
    return StatusReport(
        context=str(status.get("context") or ""),
        state=_STATE_FROM_GITEA.get(word, CommitState.ERROR),
        description=status.get("description") or None,
        target_url=status.get("target_url") or None,
    )


def _comment(comment: Mapping[str, Any]) -> Comment:
    return Comment(
        id=int(comment["id"]),
        body=str(comment.get("body") or ""),
        author=_login(comment.get("user")),
        url=comment.get("html_url") or None,
    )


def _pull_request(pull: Mapping[str, Any]) -> PullRequest:
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
        draft=bool(draft) if draft is not None else _has_draft_prefix(title),
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


def _workflow_run(run: Mapping[str, Any]) -> WorkflowRun:
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


def _is_dispatch_of(run: Mapping[str, Any], workflow: str, branch: str | None) -> bool:
    """Gitea names the workflow in `path` ("ci.yml@refs/heads/main"), Forgejo in `workflow_id`;
    the branch is Gitea's `head_branch` or Forgejo's `prettyref`."""
    named = str(run.get("path") or "").split("@", 1)[0] == workflow or (
        run.get("workflow_id") == workflow
    )
    event = run.get("event") or run.get("trigger_event")
    on_branch = branch is None or (run.get("head_branch") or run.get("prettyref")) == branch
    return named and event in (None, "", "workflow_dispatch") and on_branch


def _joins(pull: PullRequest, *, head: str, base: str) -> bool:
    """The pull request merges branch `head` of this repository into `base`."""
    return (pull.head_ref, pull.base_ref) == (head, base) and not pull.from_fork


def _changed_files(commits: list[Mapping[str, Any]]) -> list[str]:
    """Every file the commits touch, once, in the order they were first touched."""
    files: dict[str, None] = {}
    for commit in commits:
        for changed in commit.get("files") or []:
            files.setdefault(str(changed.get("filename")), None)
    return list(files)


def _login(user: Any) -> str | None:
    return str(user["login"]) if isinstance(user, dict) and user.get("login") else None


def _has_draft_prefix(title: str) -> bool:
    return title.upper().startswith(_DRAFT_PREFIXES)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0


# Building paths


def _segment(value: str) -> str:
    """One path segment, percent-encoded ("/" too: Gitea's PathParam unescapes it)."""
    return quote(value, safe="")


def _repo_path(repo: Repo) -> str:
    return f"/repos/{_segment(repo.owner)}/{_segment(repo.name)}"


def _compare_path(repo: Repo, base: str, head: str) -> str:
    # {basehead} is a catch-all route, so branch names keep their slashes.
    return f"{_repo_path(repo)}/compare/{quote(base, safe='/')}...{quote(head, safe='/')}"


def _branch_of(ref: str) -> str | None:
    """The branch a ref names; None for a tag (the run list can only filter branches)."""
    if ref.startswith("refs/tags/"):
        return None
    return ref.removeprefix("refs/heads/")


def _present(**fields: str | None) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value}


def _web_root(base_url: str) -> str:
    """The server's web root from GITEA_URL, with or without a trailing /api/v1."""
    root = base_url.strip().rstrip("/")
    return root.removesuffix("/api/v1")


# Construction from settings


def from_settings(settings: Settings, *, installation_id: int | None = None) -> Provider | None:
    """The Gitea client, or None unless GITEA_URL and GITEA_TOKEN are set."""
    return _client(settings, "gitea")


def forgejo_from_settings(
    settings: Settings, *, installation_id: int | None = None
) -> Provider | None:
    """The same client for Forgejo, which is configured with the Gitea settings."""
    return _client(settings, "forgejo")


def _client(settings: Settings, name: str) -> GiteaClient | None:
    token = settings.gitea_token
    if not settings.gitea_url or token is None or not token.get_secret_value():
        return None
    return GiteaClient(settings.gitea_url, token, name=name)
