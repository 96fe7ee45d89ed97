"""The host client an untrusted run's steps get: everything a step may read, and no write —
no comment, status, reaction, deployment, workflow or pull request. Shipyard's own reporting
of the run (its commit status) goes through the real client, not this one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, NoReturn

from providers.base import Provider
from providers.errors import ProviderError
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

__all__ = ["UNTRUSTED_WRITE", "ReadOnlyProvider", "WriteRefused"]

UNTRUSTED_WRITE = (
    "this run's code is not trusted (a pull request from a fork, or by someone below the "
    "repository's pull_requests.min_role): its steps may not write to the host"
)


class WriteRefused(ProviderError):
    """A step of an untrusted run tried to write to the host."""


class ReadOnlyProvider(Provider):
    """Reads go to `inner`; every write raises WriteRefused with `why`."""

    def __init__(self, inner: Provider, why: str) -> None:
        self.name = inner.name
        self.deployments_are_statuses = inner.deployments_are_statuses
        self._inner = inner
        self._why = why

    def _refuse(self, operation: str) -> NoReturn:
        raise WriteRefused(self.name, operation, "-", detail=self._why)

    # Writes

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        self._refuse("set_commit_status")

    async def create_check_run(self, repo: Repo, sha: str, check: CheckRun) -> CheckRun:
        self._refuse("create_check_run")

    async def update_check_run(self, repo: Repo, sha: str, check: CheckRun) -> CheckRun:
        self._refuse("update_check_run")

    async def create_deployment(self, repo: Repo, **kwargs: Any) -> Deployment:
        self._refuse("create_deployment")

    async def set_deployment_status(
        self, repo: Repo, deployment: Deployment, state: DeploymentState, **kwargs: Any
    ) -> None:
        self._refuse("set_deployment_status")

    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment:
        self._refuse("post_comment")

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        self._refuse("update_comment")

    async def upsert_comment(self, repo: Repo, number: int, marker: str, body: str) -> Comment:
        self._refuse("upsert_comment")

    async def add_reaction(
        self, repo: Repo, number: int, comment_id: int, reaction: Reaction
    ) -> None:
        self._refuse("add_reaction")

    async def trigger_workflow(
        self, repo: Repo, workflow: str, ref: str, inputs: Mapping[str, str] | None = None
    ) -> WorkflowRun:
        self._refuse("trigger_workflow")

    async def create_pull_request(self, repo: Repo, **kwargs: Any) -> PullRequest:
        self._refuse("create_pull_request")

    # Reads

    async def list_commit_statuses(self, repo: Repo, sha: str) -> list[StatusReport]:
        return await self._inner.list_commit_statuses(repo, sha)

    async def iter_comments(self, repo: Repo, number: int) -> AsyncIterator[Comment]:
        async for comment in self._inner.iter_comments(repo, number):
            yield comment

    async def get_comment(self, repo: Repo, number: int, comment_id: int) -> Comment:
        return await self._inner.get_comment(repo, number, comment_id)

    async def identity(self) -> Identity:
        return await self._inner.identity()

    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        return await self._inner.read_file(repo, path, ref)

    async def default_branch(self, repo: Repo) -> str:
        return await self._inner.default_branch(repo)

    async def get_pull_request(self, repo: Repo, number: int) -> PullRequest:
        return await self._inner.get_pull_request(repo, number)

    async def review_state(self, repo: Repo, number: int) -> ReviewState:
        return await self._inner.review_state(repo, number)

    async def labelled_issues(self, repo: Repo, label: str) -> list[IssueSummary]:
        return await self._inner.labelled_issues(repo, label)

    async def compare(self, repo: Repo, base: str, head: str) -> Comparison:
        return await self._inner.compare(repo, base, head)

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        return await self._inner.get_permission(repo, username)

    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
        return await self._inner.get_workflow_run(repo, run_id)

    async def find_open_pull_request(
        self, repo: Repo, *, head: str, base: str
    ) -> PullRequest | None:
        return await self._inner.find_open_pull_request(repo, head=head, base=base)

    async def pull_requests_for_commit(self, repo: Repo, sha: str) -> list[PullRequest]:
        return await self._inner.pull_requests_for_commit(repo, sha)

    async def pull_request_diff(self, repo: Repo, number: int) -> str:
        return await self._inner.pull_request_diff(repo, number)

    async def clone_auth(self, repo: Repo) -> CloneAuth:
        return await self._inner.clone_auth(repo)
