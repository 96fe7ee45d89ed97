"""The client for a host with no credentials: every call says which settings to set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

from providers.base import Provider
from providers.errors import NotConfigured
from providers.vocabulary import (
    Comment,
    Comparison,
    Deployment,
    Identity,
    IssueSummary,
    Permission,
    PullRequest,
    ReviewState,
    StatusReport,
    WorkflowRun,
)


class NotConfiguredProvider(Provider):
    def __init__(self, name: str, display_name: str, settings_hint: str) -> None:
        self.name = name
        self._display_name = display_name
        self._hint = settings_hint

    def _refuse(self, operation: str) -> NoReturn:
        raise NotConfigured(
            self._display_name,
            operation,
            "-",
            detail=f"{self._display_name} is not configured: set {self._hint}",
        )

    async def identity(self) -> Identity:
        self._refuse("identity")

    async def set_commit_status(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("set_commit_status")

    async def list_commit_statuses(self, *args: Any, **kwargs: Any) -> list[StatusReport]:
        self._refuse("list_commit_statuses")

    async def create_deployment(self, *args: Any, **kwargs: Any) -> Deployment:
        self._refuse("create_deployment")

    async def set_deployment_status(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("set_deployment_status")

    async def post_comment(self, *args: Any, **kwargs: Any) -> Comment:
        self._refuse("post_comment")

    async def update_comment(self, *args: Any, **kwargs: Any) -> Comment:
        self._refuse("update_comment")

    async def iter_comments(self, *args: Any, **kwargs: Any) -> AsyncIterator[Comment]:
        self._refuse("iter_comments")
        yield  # pragma: no cover  (makes this an async generator, like the real ones)

    async def get_comment(self, *args: Any, **kwargs: Any) -> Comment:
        self._refuse("get_comment")

    async def add_reaction(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("add_reaction")

    async def read_file(self, *args: Any, **kwargs: Any) -> bytes | None:
        self._refuse("read_file")

    async def default_branch(self, *args: Any, **kwargs: Any) -> str:
        self._refuse("default_branch")

    async def get_pull_request(self, *args: Any, **kwargs: Any) -> PullRequest:
        self._refuse("get_pull_request")

    async def review_state(self, *args: Any, **kwargs: Any) -> ReviewState:
        self._refuse("review_state")

    async def labelled_issues(self, *args: Any, **kwargs: Any) -> list[IssueSummary]:
        self._refuse("labelled_issues")

    async def compare(self, *args: Any, **kwargs: Any) -> Comparison:
        self._refuse("compare")

    async def get_permission(self, *args: Any, **kwargs: Any) -> Permission:
        self._refuse("get_permission")

    async def trigger_workflow(self, *args: Any, **kwargs: Any) -> WorkflowRun:
        self._refuse("trigger_workflow")

    async def get_workflow_run(self, *args: Any, **kwargs: Any) -> WorkflowRun:
        self._refuse("get_workflow_run")

    async def create_pull_request(self, *args: Any, **kwargs: Any) -> PullRequest:
        self._refuse("create_pull_request")

    async def find_open_pull_request(self, *args: Any, **kwargs: Any) -> PullRequest | None:
        self._refuse("find_open_pull_request")

    async def pull_requests_for_commit(self, *args: Any, **kwargs: Any) -> list[PullRequest]:
        self._refuse("pull_requests_for_commit")
