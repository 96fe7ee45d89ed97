"""The GitLab client (gitlab.com and self-managed): the Provider interface over GitLab's REST API.

Every call goes through `GitLabTransport.request` (python-gitlab in a worker thread, under the
retry policy). Translation to GitLab's words lives in `providers.gitlab.translate`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from providers.base import Provider
from providers.errors import NotFound, ProviderError, ValidationFailed
from providers.gitlab import deployments
from providers.gitlab.translate import (
    COMMIT_STATE,
    DEPLOYMENT_STATUS,
    EMOJI,
    comment_from,
    draft_title,
    encode,
    identity_from,
    is_from_fork,
    latest_reports,
    permission_for,
    project_path,
    pull_request_from,
    run_status,
)
from providers.gitlab.transport import Answer, GitLabTransport
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

__all__ = ["GitLabClient"]

_PER_PAGE = "100"


class GitLabClient(Provider):
    """One GitLab server, authenticated with a personal / project / group access token.

    `mask` learns the token, and hides it in every error.
    """

    name = "gitlab"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        mask: Mask,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._http = GitLabTransport(url, token, mask=mask, retry=retry, timeout=timeout)
        self._identity: Identity | None = None

    def __repr__(self) -> str:
        return f"GitLabClient(url={self._http.url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def identity(self) -> Identity:
        """The token's user (`GET /user`), looked up once."""
        if self._identity is None:
            self._identity = identity_from((await self._http.request("GET", "/user")).data)
        return self._identity

    # Commit statuses (check runs: the base class turns them into statuses)

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        body: dict[str, Any] = {"state": COMMIT_STATE[status.state], "name": status.context}
        if status.description is not None:
            body["description"] = status.description
        if status.target_url is not None:
            body["target_url"] = status.target_url
        try:
            await self._http.request("POST", f"{project_path(repo)}/statuses/{sha}", body=body)
        except ValidationFailed as error:
            # Surprise: posting the state a pending/running status already has answers 400
            # "Cannot transition status via :enqueue from :pending". It is where we want it.
            if "cannot transition status" not in error.detail.lower():
                raise

    async def list_commit_statuses(self, repo: Repo, sha: str) -> list[StatusReport]:
        path = f"{project_path(repo)}/repository/commits/{sha}/statuses"
        statuses = [status async for status in self._paginate(path, {})]
        return latest_reports(statuses)

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
        """A `running` deployment, in an environment made sure of first: created if missing,
        with `environment_url` as its `external_url` and its tier (`production` when
        `production`, else guessed from its name: `translate.environment_tier`).

        GitLab's deployments have no description or payload, and its environments nothing
        like `transient` (a review app stops when its pipeline says so): they are dropped.
        """
        return await deployments.create_deployment(
            self._http,
            repo,
            ref=ref,
            sha=sha,
            environment=environment,
            production=production,
            environment_url=environment_url,
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
        """The status; `environment_url` becomes the environment's `external_url`.

        GitLab deployments have no log URL or description: `log_url` and `description` have
        nowhere to go and are dropped (Shipyard's own deployment page carries the log).
        """
        status = DEPLOYMENT_STATUS[state]
        if status == "running":
            # Made `running` (GitLab cannot make one that has not started) and never `running`
            # again after: a PUT would only be refused.
            return
        await deployments.set_deployment_status(
            self._http,
            repo,
            deployment.id,
            status,
            environment_url=environment_url,
        )

    # Merge-request notes

    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment:
        answer = await self._http.request("POST", self._notes(repo, number), body={"body": body})
        return comment_from(answer.data)

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        path = f"{self._notes(repo, number)}/{comment_id}"
        answer = await self._http.request("PUT", path, body={"body": body})
        return comment_from(answer.data)

    async def iter_comments(self, repo: Repo, number: int) -> AsyncIterator[Comment]:
        """People's notes, oldest first; system notes ("added 1 commit") are skipped."""
        query = {"sort": "asc", "order_by": "created_at"}
        async for note in self._paginate(self._notes(repo, number), query):
            if not note.get("system"):
                yield comment_from(note)

    async def get_comment(self, repo: Repo, number: int, comment_id: int) -> Comment:
        """The note, read through its merge request: a note of another one is a 404."""
        answer = await self._http.request("GET", f"{self._notes(repo, number)}/{comment_id}")
        return replace(comment_from(answer.data), pull_request=number)

    async def add_reaction(
        self, repo: Repo, number: int, comment_id: int, reaction: Reaction
    ) -> None:
        path = f"{self._notes(repo, number)}/{comment_id}/award_emoji"
        try:
            await self._http.request("POST", path, body={"name": EMOJI[reaction]})
        except NotFound as error:
            # Surprise: awarding an emoji the user already gave answers 404
            # "Award Emoji Name has already been taken". The reaction is there: done.
            if "already been taken" not in error.detail:
                raise

    def _notes(self, repo: Repo, number: int) -> str:
        return f"{project_path(repo)}/merge_requests/{number}/notes"

    # Repository content

    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        """The raw bytes, or None on 404 (no such file or ref; GitLab does not say which)."""
        raw = f"{project_path(repo)}/repository/files/{encode(path)}/raw"
        try:
            answer = await self._http.request("GET", raw, query={"ref": ref})
        except NotFound:
            return None
        return answer.content

    async def default_branch(self, repo: Repo) -> str:
        answer = await self._http.request("GET", project_path(repo))
        branch = answer.data.get("default_branch")
        if not branch:  # an empty repository has none
            raise NotFound(self._http.host, "GET", project_path(repo), None, "no default branch")
        return str(branch)

    async def get_pull_request(self, repo: Repo, number: int) -> PullRequest:
        answer = await self._http.request("GET", f"{project_path(repo)}/merge_requests/{number}")
        return pull_request_from(answer.data)

    async def review_state(self, repo: Repo, number: int) -> ReviewState:
        """From `GET …/merge_requests/:iid/approvals`: APPROVED when `approved` is true and,
        where the answer counts required approvals (Premium), `approvals_left` is 0; else
        PENDING. GitLab Free says `approved` as soon as anyone approved. Its approvals have no
        request for changes, and the `user_has_approved` fields speak only for the token's
        user: neither is read."""
        path = f"{project_path(repo)}/merge_requests/{number}/approvals"
        answer = (await self._http.request("GET", path)).data
        approvals: Mapping[str, Any] = answer if isinstance(answer, Mapping) else {}
        left = approvals.get("approvals_left", 0)  # absent on GitLab Free: none required
        none_left = type(left) is int and left == 0
        if approvals.get("approved") is True and none_left:
            return ReviewState.APPROVED
        return ReviewState.PENDING

    async def labelled_issues(self, repo: Repo, label: str) -> list[IssueSummary]:
        """One page of `GET …/issues?state=opened&labels=…&per_page=100`, newest first
        (GitLab's default order, by creation). Merge requests are not in GitLab's issue list:
        there is none to leave out. An issue's number is its `iid`, its body `description`.
        `labels` is a comma-separated list to GitLab, and the words `None` and `Any` ask for
        issues with no label and with any label."""
        query = {"state": "opened", "labels": label, "per_page": _PER_PAGE}
        answer = await self._http.request("GET", f"{project_path(repo)}/issues", query=query)
        items = answer.data if isinstance(answer.data, list) else []
        return [_issue_from(item) for item in items]

    async def compare(self, repo: Repo, base: str, head: str) -> Comparison:
        """Commits in `head` not in `base` (oldest first), and files changed since the merge base.

        GitLab's compare has no behind count: `behind_by` is the reverse compare's length.
        """
        ahead = await self._compare(repo, base, head)
        behind = await self._compare(repo, head, base)
        commits = [str(commit["id"]) for commit in ahead.get("commits") or []]
        return Comparison(
            base=base,
            head=head,
            ahead_by=len(commits),
            behind_by=len(behind.get("commits") or []),
            commits=commits,
            files=[str(diff["new_path"]) for diff in ahead.get("diffs") or []],
        )

    async def _compare(self, repo: Repo, base: str, head: str) -> Mapping[str, Any]:
        path = f"{project_path(repo)}/repository/compare"
        answer = await self._http.request("GET", path, query={"from": base, "to": head})
        data: Mapping[str, Any] = answer.data
        return data

    async def commit_of(self, repo: Repo, ref: str) -> str:
        """`GET /projects/:id/repository/commits/:sha`, which takes a branch or tag name too;
        its `id` is the full sha (an annotated tag's commit, not the tag object)."""
        path = f"{project_path(repo)}/repository/commits/{encode(ref)}"
        answer = await self._http.request("GET", path)
        sha = answer.data.get("id") if isinstance(answer.data, Mapping) else None
        if not isinstance(sha, str) or not sha:
            raise ProviderError(self._http.host, "GET", path, 200, "the answer names no commit")
        return sha

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        """The user's effective access level (inherited from groups too); NONE if not a member.

        GitLab admins who are not members, and anyone's read access to a public project,
        are not memberships: they answer NONE here.
        """
        users = await self._http.request("GET", "/users", query={"username": username})
        if not users.data:
            return Permission.NONE
        path = f"{project_path(repo)}/members/all/{int(users.data[0]['id'])}"
        try:
            member = await self._http.request("GET", path)
        except NotFound:
            return Permission.NONE
        return permission_for(int(member.data.get("access_level") or 0))

    # CI

    async def trigger_workflow(
        self, repo: Repo, workflow: str, ref: str, inputs: Mapping[str, str] | None = None
    ) -> WorkflowRun:
        """Start the project's pipeline at `ref`; `inputs` become pipeline variables.

        A GitLab project has one pipeline definition (.gitlab-ci.yml), so `workflow` cannot
        pick one: it is ignored. Pipelines that must tell runs apart can use the variables.
        """
        body: dict[str, Any] = {"ref": ref}
        if inputs:
            body["variables"] = [
                {"key": key, "value": value, "variable_type": "env_var"}
                for key, value in inputs.items()
            ]
        answer = await self._http.request("POST", f"{project_path(repo)}/pipeline", body=body)
        return _workflow_run(answer)

    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
        path = f"{project_path(repo)}/pipelines/{encode(str(run_id))}"
        return _workflow_run(await self._http.request("GET", path))

    # Merge requests

    async def create_pull_request(
        self, repo: Repo, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequest:
        payload = {
            "source_branch": head,
            "target_branch": base,
            "title": draft_title(title, draft),
            "description": body,
        }
        path = f"{project_path(repo)}/merge_requests"
        answer = await self._http.request("POST", path, body=payload)
        return pull_request_from(answer.data)

    async def find_open_pull_request(
        self, repo: Repo, *, head: str, base: str
    ) -> PullRequest | None:
        """The open merge request from branch `head` of this project into `base`.

        Merge requests from forks whose branch has the same name are not ours: skipped.
        """
        query = {"state": "opened", "source_branch": head, "target_branch": base}
        answer = await self._http.request(
            "GET", f"{project_path(repo)}/merge_requests", query=query
        )
        own = [mr for mr in answer.data or [] if not is_from_fork(mr)]
        return pull_request_from(own[0]) if own else None

    async def pull_requests_for_commit(self, repo: Repo, sha: str) -> list[PullRequest]:
        """`GET …/repository/commits/:sha/merge_requests`, the opened ones: GitLab lists the
        merge requests that contain the commit, in any state."""
        path = f"{project_path(repo)}/repository/commits/{encode(sha)}/merge_requests"
        return [
            pull_request_from(mr)
            async for mr in self._paginate(path, {})
            if mr.get("state") == "opened"
        ]

    async def pull_request_diff(self, repo: Repo, number: int) -> str:
        """The merge request's changes as one unified diff, from its paged `/diffs` list."""
        parts = []
        path = f"{project_path(repo)}/merge_requests/{number}/diffs"
        async for diff in self._paginate(path, {}):
            old, new = diff.get("old_path"), diff.get("new_path")
            parts.append(
                f"diff --git a/{old} b/{new}\n--- a/{old}\n+++ b/{new}\n{diff.get('diff', '')}"
            )
        return "".join(parts)

    async def clone_auth(self, repo: Repo) -> CloneAuth:
        """HTTPS clone URL; the token as the password of a Basic header (user `oauth2`)."""
        return CloneAuth(
            url=f"{self._http.url}/{repo.full_name}.git",
            header=f"Authorization: Basic {self._http.basic_credentials()}",
        )

    async def _paginate(
        self, path: str, query: Mapping[str, str]
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every item of a list, page by page (per_page=100), following `x-next-page`."""
        page: int | None = 1
        while page is not None:
            answer = await self._http.request(
                "GET", path, query={**query, "per_page": _PER_PAGE, "page": str(page)}
            )
            for item in answer.data or []:
                yield item
            following = answer.next_page()
            page = following if following is not None and following > page else None


def _issue_from(issue: Mapping[str, Any]) -> IssueSummary:
    """An issue as `GET …/issues` lists it (its description is null when it has none)."""
    return IssueSummary(
        number=int(issue["iid"]),
        title=str(issue.get("title") or ""),
        body=str(issue.get("description") or ""),
        url=issue.get("web_url") or None,
    )


def _workflow_run(answer: Answer) -> WorkflowRun:
    pipeline = answer.data
    status = str(pipeline.get("status"))
    return WorkflowRun(
        id=int(pipeline["id"]),
        status=run_status(status),
        url=pipeline.get("web_url"),
        conclusion=status,
    )
