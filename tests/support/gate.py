"""A host that answers what routing asks: the config, the pull request, people's roles, a
comment as the host has it; and a delivery stored as the intake stores it."""

from __future__ import annotations

import json
from typing import Any

from app.db.models.deliveries import Delivery, DeliveryStatus
from app.services import Services
from providers.errors import ServerError
from providers.vocabulary import Comment, CommitStatus, Permission, PullRequest, Repo
from tests.support.database import store_delivery
from tests.support.hosts import HEAD_SHA, pull_request_delivery
from tests.support.steps import RecordingProvider


class ConfigHost(RecordingProvider):
    """Serves one `.shipyard.yml`; refuses the first `failures` statuses with a 502. Pull
    request 7 is `pull`; people have the roles in `roles` (others: none); comments are as
    `host_comments` says."""

    def __init__(self, config: bytes, failures: int = 0) -> None:
        super().__init__()
        self.config, self.failures = config, failures
        self.pull = PullRequest(
            number=7,
            title="Add feature",
            head_ref="feature",
            head_sha=HEAD_SHA,
            base_ref="main",
            state="open",
            author="octocat",
        )
        self.roles: dict[str, Permission] = {"octocat": Permission.ADMIN}
        self.host_comments: dict[int, Comment] = {}
        self.permission_reads = 0

    async def read_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        return self.config

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        if self.failures:
            self.failures -= 1
            raise ServerError("GitHub", "POST", f"/repos/{repo.full_name}/statuses/{sha}", 502)
        await super().set_commit_status(repo, sha, status)

    async def get_pull_request(self, repo: Repo, number: int) -> PullRequest:
        return self.pull

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        self.permission_reads += 1
        return self.roles.get(username, Permission.NONE)

    async def get_comment(self, repo: Repo, number: int, comment_id: int) -> Comment:
        return self.host_comments[comment_id]


async def stored_delivery(
    services: Services,
    event_name: str | None = None,
    payload: dict[str, Any] | None = None,
    delivery_id: str = "d-1",
) -> int:
    """A delivery (by default a pull request opened), stored as the intake stores it: queued,
    for `process_delivery`."""
    if event_name is None or payload is None:
        event_name, payload = pull_request_delivery("github")
    body = json.dumps(payload).encode()
    row = Delivery(
        provider="github",
        delivery_id=delivery_id,
        event=event_name,
        body=body,
        status=DeliveryStatus.QUEUED,
    )
    return (await store_delivery(services.sessions, row)).id
