"""The GitHub client (github.com and Enterprise Server): the Provider interface over gidgethub.

Every call goes through `ShipyardGitHubAPI._request` (`providers.github.transport`); translation
to GitHub's words lives in `providers.github.translate`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from providers.base import Provider
from providers.errors import NotFound, ProviderError, ValidationFailed
from providers.github import actions
from providers.github.auth import Credentials
from providers.github.translate import (
    check_report_from,
    check_run_fields,
    comment_from,
    comparison_from,
    deployment_body,
    deployment_from,
    deployment_status_body,
    identity_from,
    permission_from,
    pull_request_from,
    ref_segment,
    repo_path,
    segment,
    status_body,
    status_report_from,
    web_url,
    workflow_run_from,
)
from providers.github.transport import ACCEPT, DIFF, ShipyardGitHubAPI
from providers.http import tls_context
from providers.mask import Mask
from providers.retry import RetryPolicy
from providers.vocabulary import (
    CheckRun,
    CloneAuth,
    Comment,
    CommitStatus,
    Comparison,
    Deployment,
    DeploymentState,
    Identity,
    IssueSummary,
    Permission,
    PullRequest,
    Reaction,
    Repo,
    ReviewState,
    StatusReport,
    WorkflowRun,
)

__all__ = ["GitHubClient"]

_PER_PAGE = 100
SHA_MEDIA_TYPE = "application/vnd.github.sha"  # a commit's answer as its bare sha
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1, or SHA-256 repositories
# A review's state -> the reviewer's verdict; COMMENTED and PENDING (a draft) give none.
_VERDICT = {
    "APPROVED": ReviewState.APPROVED,
    "CHANGES_REQUESTED": ReviewState.CHANGES_REQUESTED,
    "DISMISSED": ReviewState.PENDING,
}


class GitHubClient(Provider):
    """GitHub through its REST API, authenticated with a token or as an App installation.

    `mask` learns every credential the client holds or mints, and hides them in its errors.
    """

    name = "github"

    def __init__(
        self,
        credentials: Credentials,
        *,
        mask: Mask,
        api_url: str = "https://api.github.com",
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        credentials.teach(mask)
        self._credentials = credentials
        self._mask = mask
        self._api_url = api_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._owns_http = http is None
        # GitHub answers 301/307 for renamed repositories; httpx drops the Authorization
        # header if a redirect leaves the API's origin.
        self._http = http or httpx.AsyncClient(
            verify=tls_context(), timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True
        )
        self._api = ShipyardGitHubAPI(
            self._http,
            base_url=self._api_url,
            credentials=credentials,
            retry=self._retry,
            mask=mask,
        )
        self._identity: Identity | None = None

    def __repr__(self) -> str:
        return f"GitHubClient(api_url={self._api_url!r}, credentials={self._credentials!r})"

    @property
    def is_app(self) -> bool:
        return self._credentials.is_app

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def identity(self) -> Identity:
        """As an App, its bot `<slug>[bot]` (`GET /app`, signed with the App's JWT: an
        installation token may not read it); with a token, the token's user (`GET /user`)."""
        if self._identity is None:
            app_jwt = await self._credentials.app_jwt()
            if app_jwt is not None:
                answer = await self._api.get_as_app("/app", app_jwt)
            else:
                answer = await self._get("/user")
            self._identity = identity_from(answer, app=app_jwt is not None)
        return self._identity

    # Commit statuses and checks

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        await self._post(f"{repo_path(repo)}/statuses/{segment(sha)}", status_body(status))

    async def list_commit_statuses(self, repo: Repo, sha: str) -> list[StatusReport]:
        """Latest status per context, then latest check run per name (a check wins a tie)."""
        commit = f"{repo_path(repo)}/commits/{segment(sha)}"
        reports: dict[str, StatusReport] = {}
        async for status in self._iter(f"{commit}/status?per_page={_PER_PAGE}", "statuses"):
            report = status_report_from(status)
            reports.setdefault(report.context, report)  # newest first: keep the first seen
        async for check in self._iter(f"{commit}/check-runs?per_page={_PER_PAGE}", "check_runs"):
            report = check_report_from(check)
            reports[report.context] = report
        return list(reports.values())

    async def create_check_run(self, repo: Repo, sha: str, check: CheckRun) -> CheckRun:
        if not self.is_app:  # check runs can only be written by a GitHub App
            return await super().create_check_run(repo, sha, check)
        body = {"name": check.name, "head_sha": sha, **check_run_fields(check)}
        answer = await self._post(f"{repo_path(repo)}/check-runs", body)
        return replace(check, id=int(answer["id"]))

    async def update_check_run(self, repo: Repo, sha: str, check: CheckRun) -> CheckRun:
        if not self.is_app:
            return await super().update_check_run(repo, sha, check)
        if check.id is None:  # never created (or lost): a new run with the name replaces it
            return await self.create_check_run(repo, sha, check)
        body = {"name": check.name, **check_run_fields(check)}
        await self._patch(f"{repo_path(repo)}/check-runs/{check.id}", body)
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
        production: bool = False,
        transient: bool = False,
        environment_url: str | None = None,
        log_url: str | None = None,
    ) -> Deployment:
        """POST …/deployments for the sha. GitHub keeps the environment URL with each
        deployment status, not with the deployment: `environment_url` is given again to
        `set_deployment_status`, and is not sent here."""
        body = deployment_body(
            ref,
            sha,
            environment,
            description,
            payload,
            production=production,
            transient=transient,
        )
        path = f"{repo_path(repo)}/deployments"
        answer = await self._post(path, body)
        if "id" not in answer:  # 202 {"message": "Auto-merged ..."}: no deployment was made
            detail = self._mask(str(answer.get("message", "")))
            raise ProviderError(self._api.host, "POST", path, 202, detail)
        return deployment_from(answer, environment=environment, sha=sha, ref=ref)

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
        body = deployment_status_body(state, environment_url, log_url, description)
        deployment_id = segment(str(deployment.id))
        await self._post(f"{repo_path(repo)}/deployments/{deployment_id}/statuses", body)

    # Pull-request comments (a pull request is an issue: its conversation is issue comments)

    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment:
        answer = await self._post(f"{repo_path(repo)}/issues/{number}/comments", {"body": body})
        return comment_from(answer)

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        path = f"{repo_path(repo)}/issues/comments/{comment_id}"
        return comment_from(await self._patch(path, {"body": body}))

    async def iter_comments(self, repo: Repo, number: int) -> AsyncIterator[Comment]:
        path = f"{repo_path(repo)}/issues/{number}/comments?per_page={_PER_PAGE}"
        # GitHub's Link rel="next" points at /repositories/{id}/issues/...: followed as given.
        async for item in self._iter(path):
            yield comment_from(item)

    async def get_comment(self, repo: Repo, number: int, comment_id: int) -> Comment:
        """Comments are addressed by id within the repository; `issue_url` says whose it is."""
        return comment_from(await self._get(f"{repo_path(repo)}/issues/comments/{comment_id}"))

    async def add_reaction(
        self, repo: Repo, number: int, comment_id: int, reaction: Reaction
    ) -> None:
        # Reaction's values are GitHub's own content words. 200 = already there, 201 = added.
        path = f"{repo_path(repo)}/issues/comments/{comment_id}/reactions"
        await self._post(path, {"content": reaction.value})

    # Repository content

    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        file_path = quote(path.strip("/"), safe="/")
        query = urlencode({"ref": ref})
        try:
            answer = await self._get(f"{repo_path(repo)}/contents/{file_path}?{query}")
        except NotFound:
            return None
        if not isinstance(answer, Mapping) or answer.get("type") != "file":
            return None  # a directory (a list), a submodule, a symlink out of the repository
        if answer.get("encoding") == "base64":
            return base64.b64decode(answer.get("content", ""))
        # Files of 1-100 MB come with "encoding": "none" and no content; the blob API
        # returns them base64-encoded (as JSON, which gidgethub reads without guessing).
        blob = await self._get(f"{repo_path(repo)}/git/blobs/{segment(answer['sha'])}")
        return base64.b64decode(blob.get("content", ""))

    async def default_branch(self, repo: Repo) -> str:
        return str((await self._get(repo_path(repo)))["default_branch"])

    async def get_pull_request(self, repo: Repo, number: int) -> PullRequest:
        return pull_request_from(await self._get(f"{repo_path(repo)}/pulls/{number}"))

    async def review_state(self, repo: Repo, number: int) -> ReviewState:
        """From `GET …/pulls/{number}/reviews`, every page (oldest first, as GitHub lists
        them): each reviewer's latest approval, request for changes or dismissal is their
        verdict; a comment changes nothing. A dismissed review reads DISMISSED, so an
        approval that was dismissed no longer counts."""
        path = f"{repo_path(repo)}/pulls/{number}/reviews?per_page={_PER_PAGE}"
        verdicts = _latest_verdicts([review async for review in self._iter(path)])
        return ReviewState.of(verdicts.values())

    async def labelled_issues(self, repo: Repo, label: str) -> list[IssueSummary]:
        """One page of `GET …/issues?state=open&labels=…&per_page=100`, newest first (GitHub's
        default order). GitHub lists pull requests among issues (those with a `pull_request`
        key): they are left out, so labelled pull requests on the page mean fewer issues.
        `labels` is a comma-separated list to GitHub: a label with a comma in its name asks
        for the issues carrying every part of it."""
        query = urlencode({"state": "open", "labels": label, "per_page": _PER_PAGE})
        answer = await self._get(f"{repo_path(repo)}/issues?{query}")
        items = answer if isinstance(answer, list) else []
        return [_issue_from(item) for item in items if "pull_request" not in item]

    async def compare(self, repo: Repo, base: str, head: str) -> Comparison:
        """Up to 250 commits and 300 files: what GitHub returns for one comparison."""
        basehead = f"{ref_segment(base)}...{ref_segment(head)}"
        answer = await self._get(f"{repo_path(repo)}/compare/{basehead}")
        return comparison_from(answer, base=base, head=head)

    async def commit_of(self, repo: Repo, ref: str) -> str:
        """`GET …/commits/{ref}` as the `application/vnd.github.sha` media type: the bare sha,
        not the commit with its files and patches (which can run to megabytes). GitHub answers
        an unknown ref with 422 "No commit found for SHA: …": that is NotFound too."""
        path = f"{repo_path(repo)}/commits/{ref_segment(ref)}"
        try:
            answer = await self._api.getitem(path, accept=SHA_MEDIA_TYPE)
        except ValidationFailed as error:
            if "no commit found" not in error.detail.lower():
                raise
            raise NotFound(
                error.host, error.method, error.path, error.status, error.detail
            ) from None
        sha = answer.strip() if isinstance(answer, str) else ""
        if not _SHA.fullmatch(sha):
            raise ProviderError(self._api.host, "GET", path, 200, "the answer is not a commit sha")
        return sha

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        path = f"{repo_path(repo)}/collaborators/{segment(username)}/permission"
        try:
            answer = await self._get(path)
        except NotFound:  # not a collaborator, or no such user
            return Permission.NONE
        return permission_from(answer)

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
        return await actions.trigger_workflow(
            self._api, self._retry, self._api_url, repo, workflow, ref, inputs
        )

    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
        return workflow_run_from(await self._get(f"{repo_path(repo)}/actions/runs/{run_id}"))

    # Pull requests

    async def create_pull_request(
        self, repo: Repo, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequest:
        request = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        return pull_request_from(await self._post(f"{repo_path(repo)}/pulls", request))

    async def find_open_pull_request(
        self, repo: Repo, *, head: str, base: str
    ) -> PullRequest | None:
        # GitHub filters `head` only in the form "owner:branch".
        qualified = head if ":" in head else f"{repo.owner}:{head}"
        query = urlencode({"state": "open", "head": qualified, "base": base})
        answer = await self._get(f"{repo_path(repo)}/pulls?{query}")
        return pull_request_from(answer[0]) if answer else None

    async def pull_requests_for_commit(self, repo: Repo, sha: str) -> list[PullRequest]:
        """`GET …/commits/{sha}/pulls`, the open ones. GitHub lists the pull requests whose
        head is the commit or that contain it, or, once the commit is on the default branch,
        the merged one that brought it there."""
        path = f"{repo_path(repo)}/commits/{segment(sha)}/pulls?per_page={_PER_PAGE}"
        pulls = [pull_request_from(item) async for item in self._iter(path)]
        return [pull for pull in pulls if pull.state == "open"]

    async def pull_request_diff(self, repo: Repo, number: int) -> str:
        """The unified diff (the `application/vnd.github.diff` media type of the pull)."""
        diff = await self._api.getitem(f"{repo_path(repo)}/pulls/{number}", accept=DIFF)
        return diff if isinstance(diff, str) else ""

    async def clone_auth(self, repo: Repo) -> CloneAuth:
        """HTTPS clone URL on the API's host; the token goes in a Basic header
        (`x-access-token:<token>`, which both installation tokens and PATs accept)."""
        authorization = await self._credentials.authorization(self._api.request_token)
        token = authorization.partition(" ")[2]
        # The step that uses it masks every spelling of it (steps.git.credential_secrets).
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        return CloneAuth(
            url=f"{web_url(self._api_url)}/{repo.full_name}.git",
            header=f"Authorization: Basic {basic}",
        )

    # Requests, all through the one boundary (`ShipyardGitHubAPI._request`)

    async def _get(self, path: str) -> Any:
        return await self._api.getitem(path, accept=ACCEPT)

    def _iter(self, path: str, key: str | None = None) -> AsyncIterator[Any]:
        """Every item of every page, following Link rel="next"; `key` names a wrapped list."""
        return self._api.getiter(path, accept=ACCEPT, iterable_key=key)

    async def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self._api.post(path, data=dict(body), accept=ACCEPT)

    async def _patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self._api.patch(path, data=dict(body), accept=ACCEPT)


def _issue_from(issue: Mapping[str, Any]) -> IssueSummary:
    """An issue as `GET …/issues` lists it (its body is null when it has none)."""
    return IssueSummary(
        number=int(issue["number"]),
        title=str(issue.get("title") or ""),
        body=str(issue.get("body") or ""),
        url=issue.get("html_url") or None,
    )


def _latest_verdicts(reviews: list[Mapping[str, Any]]) -> dict[str, ReviewState]:
    """Each reviewer's (by login) latest verdict, from their reviews oldest first. A review
    whose author was deleted has no user: those count as one reviewer, "" (GitHub's ghost)."""
    verdicts: dict[str, ReviewState] = {}
    for review in reviews:
        verdict = _VERDICT.get(str(review.get("state")))
        if verdict is not None:
            user = review.get("user") or {}
            verdicts[str(user.get("login") or "")] = verdict
    return verdicts
