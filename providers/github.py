"""The GitHub client (github.com and Enterprise Server): the Provider interface over gidgethub."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from gidgethub.httpx import GitHubAPI

from app.settings import Settings
from providers.base import Provider
from providers.errors import (
    AuthenticationFailed,
    NotFound,
    ProviderError,
    TransportError,
    ValidationFailed,
    error_for_response,
)
from providers.github_auth import Credentials, InstallationAuth, TokenAuth, shared_app
from providers.http import tls_context
from providers.retry import RetryPolicy, with_retries
from providers.vocabulary import (
    CheckRun,
    CheckStatus,
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

__all__ = ["ACCEPT", "API_VERSION", "USER_AGENT", "GitHubClient", "from_settings"]

ACCEPT = "application/vnd.github+json"
DIFF = "application/vnd.github.diff"
API_VERSION = "2022-11-28"
USER_AGENT = "shipyard"
_PER_PAGE = 100
_MAX_DESCRIPTION = 140  # statuses and deployment statuses answer 422 above this
_MAX_SUMMARY = 65535  # check-run output.summary
_RUN_LOOKUP_DELAYS = (1.0, 2.0, 3.0, 5.0, 5.0)  # waiting for a dispatched run to be listed
_CLOCK_SKEW = 60  # seconds of slack in the `created` filter when looking for that run

# Our words -> GitHub's words.
_COMMIT_STATE = {
    CommitState.PENDING: "pending",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failure",
    CommitState.ERROR: "error",
}
_DEPLOYMENT_STATE = {
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
_STATUS_STATE = {state: ours for ours, state in _COMMIT_STATE.items()}
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
_PERMISSION = {
    "admin": Permission.ADMIN,
    "maintain": Permission.MAINTAIN,
    "write": Permission.WRITE,
    "triage": Permission.TRIAGE,
    "read": Permission.READ,
    "none": Permission.NONE,
}
_RUN_WAITING = {"queued", "requested", "waiting", "pending"}
_RUN_PASSED = {"success", "neutral", "skipped"}


class _ShipyardGitHubAPI(GitHubAPI):
    """gidgethub over httpx whose `_request` is the one network boundary of the client.

    Every call passes here: authorization, the API version header, retries, and the error
    taxonomy happen before gidgethub reads the answer, so gidgethub only sees successes.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        credentials: Credentials,
        retry: RetryPolicy,
    ) -> None:
        super().__init__(client, USER_AGENT, base_url=base_url)
        self.host = f"GitHub ({urlsplit(base_url).netloc})"
        self._credentials = credentials
        self._retry = retry

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        sent = dict(headers)
        sent["x-github-api-version"] = API_VERSION
        if "authorization" not in sent:  # the token request brings its own (the App's JWT)
            sent["authorization"] = await self._credentials.authorization(self.request_token)
        secret = sent["authorization"].partition(" ")[2]

        async def attempt() -> tuple[int, Mapping[str, str], bytes]:
            return await self._send_once(method, url, sent, body, secret)

        try:
            return await with_retries(self._retry, attempt)
        except AuthenticationFailed:
            self._credentials.forget()
            raise

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], body: bytes, secret: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        path = urlsplit(url).path
        try:
            status, answer_headers, content = await super()._request(method, url, headers, body)
        except httpx.RequestError as error:  # timeouts, refused connections, broken TLS
            detail = _scrub(f"{type(error).__name__}: {error}", secret)
            raise TransportError(self.host, method, path, detail=detail) from None
        if status >= 300:
            lowered = {name.lower(): value for name, value in answer_headers.items()}
            detail = _scrub(_error_detail(content), secret)
            now = self._retry.clock()
            raise error_for_response(self.host, method, path, status, lowered, detail, now=now)
        return status, answer_headers, content

    async def request_token(self, path: str, app_jwt: str) -> Mapping[str, Any]:
        """POST an installation-token request signed with the App's JWT (through `_request`)."""
        answer = await self.post(path, data=b"", jwt=app_jwt, accept=ACCEPT)
        return answer if isinstance(answer, Mapping) else {}


class GitHubClient(Provider):
    """GitHub through its REST API, authenticated with a token or as an App installation."""

    name = "github"

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_url: str = "https://api.github.com",
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._credentials = credentials
        self._api_url = api_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._owns_http = http is None
        # GitHub answers 301/307 for renamed repositories; httpx drops the Authorization
        # header if a redirect leaves the API's origin.
        self._http = http or httpx.AsyncClient(
            verify=tls_context(), timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True
        )
        self._api = _ShipyardGitHubAPI(
            self._http, base_url=self._api_url, credentials=credentials, retry=self._retry
        )

    def __repr__(self) -> str:
        return f"GitHubClient(api_url={self._api_url!r}, credentials={self._credentials!r})"

    @property
    def is_app(self) -> bool:
        return self._credentials.is_app

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # Commit statuses and checks

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        body: dict[str, Any] = {"state": _COMMIT_STATE[status.state], "context": status.context}
        if status.description:
            body["description"] = _truncate(status.description, _MAX_DESCRIPTION)
        if status.target_url:
            body["target_url"] = status.target_url
        await self._post(f"{_repo_path(repo)}/statuses/{_segment(sha)}", body)

    async def list_commit_statuses(self, repo: Repo, sha: str) -> list[StatusReport]:
        """Latest status per context, then latest check run per name (a check wins a tie)."""
        commit = f"{_repo_path(repo)}/commits/{_segment(sha)}"
        reports: dict[str, StatusReport] = {}
        async for status in self._iter(f"{commit}/status?per_page={_PER_PAGE}", "statuses"):
            report = _status_report(status)
            reports.setdefault(report.context, report)  # newest first: keep the first seen
        async for check in self._iter(f"{commit}/check-runs?per_page={_PER_PAGE}", "check_runs"):
            report = _check_report(check)
            reports[report.context] = report
        return list(reports.values())

    async def create_check_run(self, repo: Repo, sha: str, check: CheckRun) -> CheckRun:
        if not self.is_app:  # check runs can only be written by a GitHub App
            return await super().create_check_run(repo, sha, check)
        body = {"name": check.name, "head_sha": sha, **_check_run_fields(check)}
        answer = await self._post(f"{_repo_path(repo)}/check-runs", body)
        return replace(check, id=int(answer["id"]))

    async def update_check_run(self, repo: Repo, sha: str, check: CheckRun) -> CheckRun:
        if not self.is_app:
            return await super().update_check_run(repo, sha, check)
        if check.id is None:  # never created (or lost): a new run with the name replaces it
            return await self.create_check_run(repo, sha, check)
        body = {"name": check.name, **_check_run_fields(check)}
        await self._patch(f"{_repo_path(repo)}/check-runs/{check.id}", body)
        return check

    # Deployments

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
        }
        if description:
            body["description"] = _truncate(description, _MAX_DESCRIPTION)
        path = f"{_repo_path(repo)}/deployments"
        answer = await self._post(path, body)
        if "id" not in answer:  # 202 {"message": "Auto-merged ..."}: no deployment was made
            raise ProviderError(self._api.host, "POST", path, 202, str(answer.get("message", "")))
        return Deployment(
            id=answer["id"],
            environment=answer.get("environment", environment),
            sha=answer.get("sha", sha),
            ref=answer.get("ref", ref),
            url=answer.get("url"),
        )

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
        body: dict[str, Any] = {"state": _DEPLOYMENT_STATE[state]}
        if environment_url:
            body["environment_url"] = environment_url
        if log_url:
            body["log_url"] = log_url
        if description:
            body["description"] = _truncate(description, _MAX_DESCRIPTION)
        deployment_id = _segment(str(deployment.id))
        await self._post(f"{_repo_path(repo)}/deployments/{deployment_id}/statuses", body)

    # Pull-request comments (a pull request is an issue: its conversation is issue comments)

    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment:
        answer = await self._post(f"{_repo_path(repo)}/issues/{number}/comments", {"body": body})
        return _comment(answer)

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        path = f"{_repo_path(repo)}/issues/comments/{comment_id}"
        return _comment(await self._patch(path, {"body": body}))

    async def iter_comments(self, repo: Repo, number: int) -> AsyncIterator[Comment]:
        path = f"{_repo_path(repo)}/issues/{number}/comments?per_page={_PER_PAGE}"
        # GitHub's Link rel="next" points at /repositories/{id}/issues/...: followed as given.
        async for item in self._iter(path):
            yield _comment(item)

    async def add_reaction(
        self, repo: Repo, number: int, comment_id: int, reaction: Reaction
    ) -> None:
        # Reaction's values are GitHub's own content words. 200 = already there, 201 = added.
        path = f"{_repo_path(repo)}/issues/comments/{comment_id}/reactions"
        await self._post(path, {"content": reaction.value})

    # Repository content

    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        file_path = quote(path.strip("/"), safe="/")
        query = urlencode({"ref": ref})
        try:
            answer = await self._get(f"{_repo_path(repo)}/contents/{file_path}?{query}")
        except NotFound:
            return None
        if not isinstance(answer, Mapping) or answer.get("type") != "file":
            return None  # a directory (a list), a submodule, a symlink out of the repository
        if answer.get("encoding") == "base64":
            return base64.b64decode(answer.get("content", ""))
        # Files of 1-100 MB come with "encoding": "none" and no content; the blob API
        # returns them base64-encoded (as JSON, which gidgethub reads without guessing).
        blob = await self._get(f"{_repo_path(repo)}/git/blobs/{_segment(answer['sha'])}")
        return base64.b64decode(blob.get("content", ""))

    async def default_branch(self, repo: Repo) -> str:
        return str((await self._get(_repo_path(repo)))["default_branch"])

    async def get_pull_request(self, repo: Repo, number: int) -> PullRequest:
        return _pull_request(await self._get(f"{_repo_path(repo)}/pulls/{number}"))

    async def compare(self, repo: Repo, base: str, head: str) -> Comparison:
        """Up to 250 commits and 300 files: what GitHub returns for one comparison."""
        basehead = f"{_ref_segment(base)}...{_ref_segment(head)}"
        answer = await self._get(f"{_repo_path(repo)}/compare/{basehead}")
        return Comparison(
            base=base,
            head=head,
            ahead_by=int(answer.get("ahead_by", 0)),
            behind_by=int(answer.get("behind_by", 0)),
            commits=[commit["sha"] for commit in answer.get("commits", [])],
            files=[file["filename"] for file in answer.get("files", [])],
        )

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        path = f"{_repo_path(repo)}/collaborators/{_segment(username)}/permission"
        try:
            answer = await self._get(path)
        except NotFound:  # not a collaborator, or no such user
            return Permission.NONE
        # `permission` folds maintain into write and triage into read; `role_name` does not
        # (but can be a custom role's name, which we cannot rank: then `permission` decides).
        for word in (answer.get("role_name"), answer.get("permission")):
            if word in _PERMISSION:
                return _PERMISSION[word]
        return Permission.NONE

    # CI

    async def trigger_workflow(
        self, repo: Repo, workflow: str, ref: str, inputs: Mapping[str, str] | None = None
    ) -> WorkflowRun:
        """Dispatch and return the run: GitHub names it since February 2026, else we look it up.

        `return_run_details: true` makes the dispatch answer 200 with `workflow_run_id` and
        `html_url` (it used to answer 204 with no body). Enterprise Server versions without it
        answer 400/422 naming the parameter or 204: then we dispatch without it, list the
        workflow's `workflow_dispatch` runs on the branch created since just before the
        dispatch, and take the newest — which can be a run someone else dispatched at the
        same moment.
        """
        workflow_path = f"{_repo_path(repo)}/actions/workflows/{_segment(workflow)}"
        body: dict[str, Any] = {"ref": ref, "inputs": dict(inputs or {})}
        dispatched_at = self._retry.clock()
        try:
            answer = await self._post(
                f"{workflow_path}/dispatches", {**body, "return_run_details": True}
            )
        except ValidationFailed as error:
            if "return_run_details" not in error.detail:
                raise
            answer = await self._post(f"{workflow_path}/dispatches", body)
        if isinstance(answer, Mapping) and answer.get("workflow_run_id"):
            return WorkflowRun(
                id=int(answer["workflow_run_id"]),
                status=RunStatus.QUEUED,
                url=answer.get("html_url"),
            )
        return await self._find_dispatched_run(workflow_path, ref, since=dispatched_at)

    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
        return _workflow_run(await self._get(f"{_repo_path(repo)}/actions/runs/{run_id}"))

    # Pull requests

    async def create_pull_request(
        self, repo: Repo, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequest:
        request = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        return _pull_request(await self._post(f"{_repo_path(repo)}/pulls", request))

    async def find_open_pull_request(
        self, repo: Repo, *, head: str, base: str
    ) -> PullRequest | None:
        # GitHub filters `head` only in the form "owner:branch".
        qualified = head if ":" in head else f"{repo.owner}:{head}"
        query = urlencode({"state": "open", "head": qualified, "base": base})
        answer = await self._get(f"{_repo_path(repo)}/pulls?{query}")
        return _pull_request(answer[0]) if answer else None

    async def pull_request_diff(self, repo: Repo, number: int) -> str:
        """The unified diff (the `application/vnd.github.diff` media type of the pull)."""
        diff = await self._api.getitem(f"{_repo_path(repo)}/pulls/{number}", accept=DIFF)
        return diff if isinstance(diff, str) else ""

    async def clone_auth(self, repo: Repo) -> CloneAuth:
        """HTTPS clone URL on the API's host; the token goes in a Basic header
        (`x-access-token:<token>`, which both installation tokens and PATs accept)."""
        authorization = await self._credentials.authorization(self._api.request_token)
        token = authorization.partition(" ")[2]
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        return CloneAuth(
            url=f"{_web_url(self._api_url)}/{repo.full_name}.git",
            header=f"Authorization: Basic {basic}",
        )

    # Requests, all through the one boundary (`_ShipyardGitHubAPI._request`)

    async def _get(self, path: str) -> Any:
        return await self._api.getitem(path, accept=ACCEPT)

    def _iter(self, path: str, key: str | None = None) -> AsyncIterator[Any]:
        """Every item of every page, following Link rel="next"; `key` names a wrapped list."""
        return self._api.getiter(path, accept=ACCEPT, iterable_key=key)

    async def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self._api.post(path, data=dict(body), accept=ACCEPT)

    async def _patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self._api.patch(path, data=dict(body), accept=ACCEPT)

    async def _find_dispatched_run(
        self, workflow_path: str, ref: str, *, since: float
    ) -> WorkflowRun:
        created = datetime.fromtimestamp(since - _CLOCK_SKEW, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = urlencode(
            {
                "event": "workflow_dispatch",
                "branch": ref.removeprefix("refs/heads/").removeprefix("refs/tags/"),
                "created": f">={created}",
                "per_page": "10",
            }
        )
        for delay in (0.0, *_RUN_LOOKUP_DELAYS):
            if delay:
                await self._retry.sleep(delay)  # the run is listed a moment after dispatch
            runs = (await self._get(f"{workflow_path}/runs?{query}")).get("workflow_runs", [])
            if runs:
                return _workflow_run(max(runs, key=lambda run: (run["created_at"], run["id"])))
        raise NotFound(
            self._api.host,
            "GET",
            f"{urlsplit(self._api_url).path}{workflow_path}/runs",
            detail="the workflow was dispatched but its run did not appear; look in Actions",
        )


def from_settings(settings: Settings, *, installation_id: int | None = None) -> Provider | None:
    """A GitHub client: as the App's installation, else with the token; None if neither is set."""
    api_url = settings.github_api_url
    key = settings.github_private_key.get_secret_value() if settings.github_private_key else ""
    if settings.github_app_id and key and installation_id is not None:
        app = shared_app(api_url, settings.github_app_id, key)
        return GitHubClient(InstallationAuth(app, installation_id), api_url=api_url)
    token = settings.github_token.get_secret_value() if settings.github_token else ""
    if token:
        return GitHubClient(TokenAuth(token), api_url=api_url)
    return None


# Paths


def _segment(value: str) -> str:
    """One path segment, with "/" and everything else reserved percent-encoded."""
    return quote(value, safe="")


def _ref_segment(ref: str) -> str:
    # Branch names keep their slashes ("feature/x") and cross-fork refs their "owner:".
    return quote(ref, safe="/:")


def _web_url(api_url: str) -> str:
    """github.com's API is api.github.com; GitHub Enterprise Server's is <host>/api/v3."""
    parts = urlsplit(api_url)
    if parts.netloc == "api.github.com":
        return "https://github.com"
    return f"{parts.scheme}://{parts.netloc}{parts.path.removesuffix('/api/v3')}"


def _repo_path(repo: Repo) -> str:
    return f"/repos/{_segment(repo.owner)}/{_segment(repo.name)}"


# Translation of GitHub's answers


def _comment(data: Mapping[str, Any]) -> Comment:
    return Comment(
        id=int(data["id"]),
        body=data.get("body") or "",
        author=(data.get("user") or {}).get("login"),
        url=data.get("html_url"),
    )


def _pull_request(data: Mapping[str, Any]) -> PullRequest:
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


def _workflow_run(data: Mapping[str, Any]) -> WorkflowRun:
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


def _status_report(data: Mapping[str, Any]) -> StatusReport:
    return StatusReport(
        context=data["context"],
        state=_STATUS_STATE.get(data.get("state", ""), CommitState.ERROR),
        description=data.get("description"),
        target_url=data.get("target_url"),
    )


def _check_report(data: Mapping[str, Any]) -> StatusReport:
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


def _check_run_fields(check: CheckRun) -> dict[str, Any]:
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
            "summary": _truncate(check.summary or title, _MAX_SUMMARY),
        }
    return fields


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_detail(content: bytes) -> str:
    """GitHub's own message, e.g. "Validation Failed: description is too long (...)"."""
    try:
        data = json.loads(content)
    except ValueError:
        return content[:200].decode("utf-8", "replace").strip()
    if not isinstance(data, dict):
        return ""
    message = str(data.get("message", ""))
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        parts = [
            str(e.get("message") or e.get("code")) if isinstance(e, dict) else str(e)
            for e in errors
        ]
        message = f"{message}: {'; '.join(parts)}"
    return message[:300]


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
