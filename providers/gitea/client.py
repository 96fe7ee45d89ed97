"""The Gitea (and Forgejo) client: the provider interface over Gitea's REST API at /api/v1.

Every call goes through `GiteaTransport.request` (`providers.gitea.transport`), the one network
boundary; translation to Gitea's words lives in `providers.gitea.translate`, and Actions
(workflow runs) in `providers.gitea.actions`. Paths, bodies and response fields follow Gitea's
swagger (templates/swagger/v1_json.tmpl, generated from the `swagger:operation` comments in
routers/api/v1) unless a comment says otherwise; Forgejo serves the same API with a few
differences, noted where they matter.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr

from providers.base import Provider
from providers.errors import NotFound, ProviderError, ValidationFailed
from providers.gitea import actions
from providers.gitea.translate import (
    DEPLOY_CONTEXT,
    DEPLOYMENT_STATE,
    DEPLOYMENT_WORDS,
    DRAFT_TITLE_PREFIX,
    PERMISSION_FROM_GITEA,
    REACTION_TO_GITEA,
    STATE_TO_GITEA,
    as_int,
    changed_files,
    comment_from,
    compare_path,
    has_draft_prefix,
    identity_from,
    joins,
    present,
    pull_request_from,
    repo_path,
    segment,
    status_report_from,
    web_root,
)
from providers.gitea.transport import DEFAULT_TIMEOUT, GiteaTransport, json_list, json_of
from providers.mask import Mask
from providers.retry import RetryPolicy
from providers.vocabulary import (
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

__all__ = ["GiteaClient"]

_BARE_COMMIT = {"stat": "false", "verification": "false", "files": "false"}
# A review's state -> the reviewer's verdict; COMMENT, PENDING and REQUEST_REVIEW give none.
_VERDICT = {"APPROVED": ReviewState.APPROVED, "REQUEST_CHANGES": ReviewState.CHANGES_REQUESTED}
_MOST_ISSUES = 100  # labelled_issues reads two pages of 50 at most


class GiteaClient(Provider):
    """One Gitea or Forgejo server, reached with a personal access token.

    `mask` learns the token, and hides it in every error.
    """

    deployments_are_statuses = True  # no deployments API: see DEPLOY_CONTEXT and ADR 7

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        mask: Mask,
        name: str = "gitea",
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self._web_url = web_root(base_url)
        self._host = urlsplit(self._web_url).netloc or self._web_url
        self._token = SecretStr(token)  # kept for clone_auth, out of vars() and reprs
        self._mask = mask
        self._api = GiteaTransport(
            f"{self._web_url}/api/v1",
            token,
            host=self._host,
            mask=mask,
            retry=retry or RetryPolicy(),
            transport=transport,
            timeout=timeout,
        )
        self._identity: Identity | None = None

    def __repr__(self) -> str:
        return f"GiteaClient(name={self.name!r}, url={self._web_url!r})"

    async def aclose(self) -> None:
        await self._api.aclose()

    async def identity(self) -> Identity:
        """The token's user (`GET /user`), looked up once."""
        if self._identity is None:
            self._identity = identity_from(await self._api.get_json("/user"))
        return self._identity

    async def pull_request_diff(self, repo: Repo, number: int) -> str:
        """GET /repos/{owner}/{repo}/pulls/{index}.diff: the unified diff as plain text."""
        answer = await self._api.request(
            "GET", f"{repo_path(repo)}/pulls/{number}.diff", accept="text/plain"
        )
        return answer.text

    async def clone_auth(self, repo: Repo) -> CloneAuth:
        """HTTPS clone URL on the web host; the token as the password of a Basic header
        (Gitea and Forgejo accept a token with any user name)."""
        basic = base64.b64encode(f"shipyard:{self._token.get_secret_value()}".encode()).decode()
        self._mask.add(basic)  # the token in another spelling
        return CloneAuth(
            url=f"{self._web_url}/{repo.full_name}.git", header=f"Authorization: Basic {basic}"
        )

    # Commit statuses

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        # CreateStatusOption: {state, target_url, description, context}.
        body = {"state": STATE_TO_GITEA[status.state], "context": status.context}
        body |= present(description=status.description, target_url=status.target_url)
        await self._api.request("POST", f"{repo_path(repo)}/statuses/{segment(sha)}", body=body)

    async def list_commit_statuses(self, repo: Repo, sha: str) -> list[StatusReport]:
        """The newest status per context. Gitea keeps every status ever set (one row each), so
        the list is read whole and the highest id per context wins; its default order
        (created_unix DESC) ties within a second."""
        latest: dict[str, dict[str, Any]] = {}
        async for status in self._api.pages(f"{repo_path(repo)}/commits/{segment(sha)}/statuses"):
            context = str(status.get("context") or "")
            newest = latest.get(context)
            if newest is None or as_int(status.get("id")) > as_int(newest.get("id")):
                latest[context] = status
        return [status_report_from(status) for status in latest.values()]

    # Deployments: commit statuses named shipyard/deploy/<environment>

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
        """A pending `shipyard/deploy/<environment>` status, linking to `log_url` (else to
        `environment_url`).

        That one status is both the deployment and the environment's commit status
        (`deployments_are_statuses`). `payload`, `production` and `transient` have nowhere to
        go on Gitea. The id is `<sha>:<environment>` (a sha has no colon), all
        `set_deployment_status` needs.
        """
        deployment = Deployment(
            id=f"{sha}:{environment}", environment=environment, sha=sha, ref=ref
        )
        await self.set_deployment_status(
            repo,
            deployment,
            DeploymentState.QUEUED,
            environment_url=environment_url,
            log_url=log_url,
            description=description,
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
        words = DEPLOYMENT_WORDS[state].format(env=environment)
        status = CommitStatus(
            state=DEPLOYMENT_STATE[state],
            context=DEPLOY_CONTEXT.format(env=environment),
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
        path = f"{repo_path(repo)}/issues/{number}/comments"
        return comment_from(json_of(await self._api.request("POST", path, body={"body": body})))

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        path = f"{repo_path(repo)}/issues/comments/{comment_id}"
        answer = await self._api.request("PATCH", path, body={"body": body})
        if answer.status == 204:  # Gitea: a comment type without content
            return Comment(id=comment_id, body=body)
        return comment_from(json_of(answer))

    async def iter_comments(self, repo: Repo, number: int) -> AsyncIterator[Comment]:
        """Gitea's GET /issues/{index}/comments has no page/limit: it answers every comment at
        once (the handler sets no ListOptions), so this is one request however long the thread.
        """
        comments = json_list(
            await self._api.request("GET", f"{repo_path(repo)}/issues/{number}/comments")
        )
        for comment in comments:
            yield comment_from(comment)

    async def get_comment(self, repo: Repo, number: int, comment_id: int) -> Comment:
        """Gitea answers 204 for an id that is an event of the thread (a label change, a
        review), not a comment: nothing to read, so NotFound, like a deleted one."""
        path = f"{repo_path(repo)}/issues/comments/{comment_id}"
        answer = await self._api.request("GET", path)
        if answer.status == 204:
            raise NotFound(self._host, "GET", f"/api/v1{path}", 204, "not a comment")
        return comment_from(json_of(answer))

    async def add_reaction(
        self, repo: Repo, number: int, comment_id: int, reaction: Reaction
    ) -> None:
        # EditReactionOption is {content}; 201 when added, 200 when it was already there.
        path = f"{repo_path(repo)}/issues/comments/{comment_id}/reactions"
        await self._api.request("POST", path, body={"content": REACTION_TO_GITEA[reaction]})

    # Repository content

    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        raw = f"{repo_path(repo)}/raw/{quote(path.lstrip('/'), safe='/')}"
        try:
            answer = await self._api.request(
                "GET", raw, params={"ref": ref}, accept="application/octet-stream"
            )
        except NotFound:
            return None
        return answer.content

    async def default_branch(self, repo: Repo) -> str:
        return str((await self._api.get_json(repo_path(repo)))["default_branch"])

    async def get_pull_request(self, repo: Repo, number: int) -> PullRequest:
        return pull_request_from(await self._api.get_json(f"{repo_path(repo)}/pulls/{number}"))

    async def review_state(self, repo: Repo, number: int) -> ReviewState:
        """From `GET …/pulls/{index}/reviews`, page by page (oldest first: Gitea orders them by
        creation, then id). A reviewer's latest approval or request for changes is their
        verdict (comments, drafts and review requests change nothing), as Gitea counts only
        that one ("official"); a verdict dismissed, or stale (made on an older head commit),
        counts for nothing and does not bring back the one before it."""
        latest: dict[str, dict[str, Any]] = {}
        async for review in self._api.pages(f"{repo_path(repo)}/pulls/{number}/reviews"):
            if str(review.get("state")) in _VERDICT:
                latest[str((review.get("user") or {}).get("login") or "")] = review
        return ReviewState.of(
            _VERDICT[str(review["state"])]
            for review in latest.values()
            if not review.get("dismissed") and not review.get("stale")
        )

    async def labelled_issues(self, repo: Repo, label: str) -> list[IssueSummary]:
        """`GET …/issues?state=open&type=issues&labels=…`, page by page up to 100 issues (two
        pages of 50), newest first (Gitea's default order, by creation).

        Gitea drops from its filter a label the repository does not define (a misspelt one,
        or an organisation's label), and with none left it lists every open issue: so an issue
        is kept only if it carries a label of that name (letter case aside, as GitHub
        matches labels). `labels` is a comma-separated list to Gitea."""
        params = {"state": "open", "type": "issues", "labels": label}
        read: list[dict[str, Any]] = []
        async for issue in self._api.pages(f"{repo_path(repo)}/issues", params):
            read.append(issue)
            if len(read) >= _MOST_ISSUES:
                break
        wanted = label.casefold()
        return [_issue_from(issue) for issue in read if wanted in _label_names(issue)]

    async def compare(self, repo: Repo, base: str, head: str) -> Comparison:
        """Gitea (>= 1.22) answers only `total_commits` and `commits` (newest first, each with
        its `files`), from the merge base to head. There is no behind_by: it is the size of
        the reverse comparison, one more request. `verification` and `files` are query
        switches the handler reads although the swagger does not list them."""
        ahead = await self._api.get_json(
            compare_path(repo, base, head), params={"verification": "false"}
        )
        behind = await self._api.get_json(
            compare_path(repo, head, base), params={"verification": "false", "files": "false"}
        )
        commits = list(reversed(ahead.get("commits") or []))
        return Comparison(
            base=base,
            head=head,
            ahead_by=as_int(ahead.get("total_commits")),
            behind_by=as_int(behind.get("total_commits")),
            commits=[str(commit["sha"]) for commit in commits],
            files=changed_files(commits),
        )

    async def commit_of(self, repo: Repo, ref: str) -> str:
        """`GET …/git/commits/{sha}`, whose `sha` may be "a git ref or commit sha": a tag (an
        annotated one answers its commit) or a branch, in one request. Its stats, signature
        check and file list are switched off: only `sha` is read."""
        path = f"{repo_path(repo)}/git/commits/{segment(ref)}"
        answer = await self._api.get_json(path, params=_BARE_COMMIT)
        sha = answer.get("sha") if isinstance(answer, dict) else None
        if not isinstance(sha, str) or not sha:
            raise ProviderError(self._host, "GET", f"/api/v1{path}", 200, "no commit sha")
        return sha

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        """Gitea answers 200 for any existing user, collaborator or not (a non-collaborator
        gets the access they have anyway: read on a public repository, none on a private
        one), and 404 only for an unknown user, which is NONE. 403 means the token may not
        ask about others (it needs admin on the repository): raised, never read as NONE."""
        path = f"{repo_path(repo)}/collaborators/{segment(username)}/permission"
        try:
            answer = await self._api.get_json(path)
        except NotFound:
            return Permission.NONE
        return PERMISSION_FROM_GITEA.get(str(answer.get("permission")), Permission.NONE)

    # CI: Gitea Actions / Forgejo Actions (`providers.gitea.actions`)

    async def trigger_workflow(
        self, repo: Repo, workflow: str, ref: str, inputs: Mapping[str, str] | None = None
    ) -> WorkflowRun:
        """Dispatch the workflow and name its run where the server allows (see `actions`)."""
        return await actions.trigger_workflow(self._api, self._web_url, repo, workflow, ref, inputs)

    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
        """The run; Unsupported where the server cannot read runs (see `actions`)."""
        return await actions.get_workflow_run(self._api, self._host, repo, run_id)

    # Pull requests

    async def create_pull_request(
        self, repo: Repo, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequest:
        """CreatePullRequestOption has no draft flag: Gitea's draft is a "WIP:" title prefix."""
        if draft and not has_draft_prefix(title):
            title = f"{DRAFT_TITLE_PREFIX}{title}"
        payload = {"head": head, "base": base, "title": title, "body": body}
        answer = await self._api.request("POST", f"{repo_path(repo)}/pulls", body=payload)
        return pull_request_from(json_of(answer))

    async def find_open_pull_request(
        self, repo: Repo, *, head: str, base: str
    ) -> PullRequest | None:
        """GET …/pulls/{base}/{head} answers *a* pull request for the pair, in any state and
        in no particular order (GetPullRequestByBaseHeadInfo filters neither). An open one
        is the answer, a 404 means there is none; a closed one means the open pulls are read
        page by page to find one that may also exist."""
        path = f"{repo_path(repo)}/pulls/{segment(base)}/{segment(head)}"
        try:
            found = pull_request_from(await self._api.get_json(path))
        except NotFound:
            return None
        if found.state == "open":
            return found
        async for pull in self._api.pages(f"{repo_path(repo)}/pulls", {"state": "open"}):
            candidate = pull_request_from(pull)
            if joins(candidate, head=head, base=base):
                return candidate
        return None

    async def pull_requests_for_commit(self, repo: Repo, sha: str) -> list[PullRequest]:
        """The open pull requests whose head is `sha`, from the open pulls page by page.

        Gitea's `GET …/commits/{sha}/pull` answers only the pull request whose *merge* commit
        is `sha` (GetPullRequestByMergedCommit): never an open one, so it cannot say this. The
        pull list has no filter by head commit, and Gitea does not say which pull requests
        contain a commit, so only the ones whose head it is are found.
        """
        found: list[PullRequest] = []
        async for pull in self._api.pages(f"{repo_path(repo)}/pulls", {"state": "open"}):
            candidate = pull_request_from(pull)
            if candidate.head_sha == sha and candidate.state == "open":
                found.append(candidate)
        return found


def _label_names(issue: Mapping[str, Any]) -> set[str]:
    """The names of the issue's labels, case-folded."""
    labels = issue.get("labels") or []
    return {str(label.get("name") or "").casefold() for label in labels if isinstance(label, dict)}


def _issue_from(issue: Mapping[str, Any]) -> IssueSummary:
    """An issue as `GET …/issues` lists it."""
    return IssueSummary(
        number=int(issue["number"]),
        title=str(issue.get("title") or ""),
        body=str(issue.get("body") or ""),
        url=issue.get("html_url") or None,
    )
