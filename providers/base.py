"""The interface every Git host client implements. The rest of Shipyard uses nothing else."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from typing import Any

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
    Identity,
    IssueSummary,
    Permission,
    PullRequest,
    Reaction,
    Repo,
    ReviewState,
    StatusReport,
    WorkflowRun,
    comment_marker,
)


class Provider(ABC):
    """One Git host. Methods take and return the vocabulary in `providers.vocabulary`."""

    name: str  # "github", "gitlab", "gitea", "forgejo"

    deployments_are_statuses: bool = False
    """The host has no deployments API: a deployment *is* the commit status
    `shipyard/deploy/<environment>` (Gitea, Forgejo; see ADR 7). Code that reports a deployment
    to the host reads this to set that status once, through the deployment calls, and never
    again as a per-environment commit status of its own."""

    # Who Shipyard is there

    @abstractmethod
    async def identity(self) -> Identity:
        """Who Shipyard acts as on this host (looked up once, then cached by the client)."""

    # Commit statuses and checks

    @abstractmethod
    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None: ...

    @abstractmethod
    async def list_commit_statuses(self, repo: Repo, sha: str) -> list[StatusReport]:
        """The latest status per context (GitHub: statuses and check runs)."""

    async def create_check_run(self, repo: Repo, sha: str, check: CheckRun) -> CheckRun:
        """A check run where the host has them (GitHub as an App); elsewhere a commit status."""
        await self.set_commit_status(repo, sha, check_as_status(check))
        return check

    async def update_check_run(self, repo: Repo, sha: str, check: CheckRun) -> CheckRun:
        await self.set_commit_status(repo, sha, check_as_status(check))
        return check

    # Deployments

    @abstractmethod
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
        """A deployment of commit `sha` (built from `ref`) to `environment`, not started yet.

        `production`: the environment is where users are (GitHub's `production_environment`,
        GitLab's `production` tier). `transient`: it goes away when no longer used, such as a
        review app (GitHub's `transient_environment`). `environment_url`: where the
        environment answers; GitLab keeps it on the environment (`external_url`), and GitHub
        takes it only with each status (given again to `set_deployment_status`). `log_url`:
        where the deployment's progress shows (Gitea links its first status to it, else to
        `environment_url`). A host without a place for one of these drops it.
        """

    @abstractmethod
    async def set_deployment_status(
        self,
        repo: Repo,
        deployment: Deployment,
        state: DeploymentState,
        *,
        environment_url: str | None = None,
        log_url: str | None = None,
        description: str | None = None,
    ) -> None: ...

    # Pull-request comments

    @abstractmethod
    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment: ...

    @abstractmethod
    async def update_comment(
        self, repo: Repo, number: int, comment_id: int, body: str
    ) -> Comment: ...

    @abstractmethod
    def iter_comments(self, repo: Repo, number: int) -> AsyncIterator[Comment]:
        """Every comment on the pull request, oldest first, page by page."""

    @abstractmethod
    async def get_comment(self, repo: Repo, number: int, comment_id: int) -> Comment:
        """The comment as the host has it now: its author, body and pull request.

        `number` is the pull request the caller expects it on; `pull_request` says where the
        host has it (None if the host does not say). NotFound if it is gone.
        """

    @abstractmethod
    async def add_reaction(
        self, repo: Repo, number: int, comment_id: int, reaction: Reaction
    ) -> None: ...

    async def find_comment(self, repo: Repo, number: int, marker: str) -> Comment | None:
        """Shipyard's own first comment carrying `<!-- shipyard:{marker} -->`.

        Anyone can write the marker: a comment someone else wrote is never Shipyard's, whatever
        it carries. The identity is looked up only once a marked comment turns up.
        """
        tag = comment_marker(marker)
        me: Identity | None = None
        async for comment in self.iter_comments(repo, number):
            if tag not in comment.body:
                continue
            me = me or await self.identity()
            if me.wrote(comment):
                return comment
        return None

    async def upsert_comment(self, repo: Repo, number: int, marker: str, body: str) -> Comment:
        """Update Shipyard's comment carrying the marker, or post one; the body gets the marker.

        A marked comment by someone else is left alone: the new one is posted beside it.
        """
        tag = comment_marker(marker)
        marked = body if tag in body else f"{tag}\n{body}"
        existing = await self.find_comment(repo, number, marker)
        if existing is None:
            return await self.post_comment(repo, number, marked)
        if existing.body == marked:
            return existing
        return await self.update_comment(repo, number, existing.id, marked)

    # Repository content

    @abstractmethod
    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        """The file's bytes at `ref`, or None if there is no such file there."""

    @abstractmethod
    async def default_branch(self, repo: Repo) -> str: ...

    @abstractmethod
    async def get_pull_request(self, repo: Repo, number: int) -> PullRequest: ...

    @abstractmethod
    async def review_state(self, repo: Repo, number: int) -> ReviewState:
        """Whether the pull request (GitLab: merge request) is approved by review.

        APPROVED when someone approved it and nobody's latest review asks for changes (and,
        where the host counts required approvals, none is missing); CHANGES_REQUESTED when a
        reviewer's latest verdict asks for changes; else PENDING. NotFound if there is no
        such pull request.
        """

    @abstractmethod
    async def labelled_issues(self, repo: Repo, label: str) -> list[IssueSummary]:
        """The repository's open issues carrying `label` (pull / merge requests left out),
        newest first, at most 100. NotFound if there is no such repository."""

    @abstractmethod
    async def compare(self, repo: Repo, base: str, head: str) -> Comparison: ...

    async def commit_of(self, repo: Repo, ref: str) -> str:
        """The sha of the commit `ref` (a tag, a branch or a sha) points at; NotFound if none."""
        raise NotImplementedError(f"{self.name}: commit_of is not implemented yet")

    @abstractmethod
    async def get_permission(self, repo: Repo, username: str) -> Permission: ...

    # CI

    @abstractmethod
    async def trigger_workflow(
        self, repo: Repo, workflow: str, ref: str, inputs: Mapping[str, str] | None = None
    ) -> WorkflowRun:
        """Start a workflow / pipeline run at `ref` and return it (queued)."""

    @abstractmethod
    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun: ...

    # Pull requests

    @abstractmethod
    async def create_pull_request(
        self, repo: Repo, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequest: ...

    @abstractmethod
    async def find_open_pull_request(
        self, repo: Repo, *, head: str, base: str
    ) -> PullRequest | None: ...

    async def pull_requests_for_commit(self, repo: Repo, sha: str) -> list[PullRequest]:
        """The open pull requests whose head is commit `sha` (or that contain it, where the
        host says so); [] when there is none."""
        raise NotImplementedError(f"{self.name}: pull_requests_for_commit is not implemented yet")

    async def pull_request_diff(self, repo: Repo, number: int) -> str:
        """The pull request's unified diff."""
        raise NotImplementedError(f"{self.name}: pull_request_diff is not implemented yet")

    async def clone_auth(self, repo: Repo) -> CloneAuth:
        """How `git` may fetch and push this repository, without the token in the URL."""
        raise NotImplementedError(f"{self.name}: clone_auth is not implemented yet")

    async def aclose(self) -> None:  # noqa: B027  (most clients have something to close)
        """Release connections."""


def check_as_status(check: CheckRun) -> CommitStatus:
    """The commit status that says what a check run says, for hosts without check runs."""
    state = (
        check.conclusion or CommitState.SUCCESS
        if check.status is CheckStatus.COMPLETED
        else CommitState.PENDING
    )
    return CommitStatus(
        state=state,
        context=check.name,
        description=check.title,
        target_url=check.details_url,
    )
