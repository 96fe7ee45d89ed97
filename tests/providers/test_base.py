"""What the interface itself does on top of each host: upsert by marker (Shipyard's own comments
only), check-run fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from providers.base import check_as_status
from providers.errors import NotConfigured
from providers.not_configured import NotConfiguredProvider
from providers.vocabulary import (
    CheckRun,
    CheckStatus,
    Comment,
    CommitState,
    CommitStatus,
    Identity,
    Repo,
    comment_marker,
)

REPO = Repo("acme/web")
SHIPYARD = Identity(login="shipyard[bot]", is_app=True)


class InMemoryComments(NotConfiguredProvider):
    """Comments kept in a list, Shipyard's unless `authors` says whose; every other operation
    refuses, as a host without settings."""

    def __init__(self, bodies: list[str], authors: list[str] | None = None) -> None:
        super().__init__("memory", "Memory", "nothing")
        whose = authors or [SHIPYARD.login] * len(bodies)
        self.comments = [
            Comment(id=n + 1, body=body, author=author)
            for n, (body, author) in enumerate(zip(bodies, whose, strict=True))
        ]
        self.posted: list[str] = []
        self.updated: list[tuple[int, str]] = []
        self.statuses: list[CommitStatus] = []
        self.identity_lookups = 0

    async def identity(self) -> Identity:
        self.identity_lookups += 1
        return SHIPYARD

    async def iter_comments(self, *args: Any, **kwargs: Any) -> AsyncIterator[Comment]:
        for comment in self.comments:
            yield comment

    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment:
        self.posted.append(body)
        comment = Comment(id=len(self.comments) + 1, body=body, author=SHIPYARD.login)
        self.comments.append(comment)
        return comment

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        self.updated.append((comment_id, body))
        return Comment(id=comment_id, body=body)

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        self.statuses.append(status)


async def test_upsert_posts_once_with_the_marker() -> None:
    host = InMemoryComments(["hello", "lgtm"])
    comment = await host.upsert_comment(REPO, 7, "plan", "Plan: 3 to add")
    assert host.posted == [f"{comment_marker('plan')}\nPlan: 3 to add"]
    assert comment.body.startswith("<!-- shipyard:plan -->")
    assert host.updated == []


async def test_upsert_updates_the_marked_comment() -> None:
    bodies = ["x"] * 250 + [f"{comment_marker('plan')}\nold", f"{comment_marker('other')}\nkeep"]
    host = InMemoryComments(bodies)
    await host.upsert_comment(REPO, 7, "plan", "new")
    assert host.posted == []
    assert host.updated == [(251, f"{comment_marker('plan')}\nnew")]


async def test_upsert_leaves_an_unchanged_comment_alone() -> None:
    host = InMemoryComments([f"{comment_marker('plan')}\nsame"])
    await host.upsert_comment(REPO, 7, "plan", "same")
    assert (host.posted, host.updated) == ([], [])


async def test_a_marker_planted_by_someone_else_is_not_edited() -> None:
    planted = f"{comment_marker('plan')}\nPlan: approved, deploy everything"
    host = InMemoryComments([planted], authors=["mallory"])
    comment = await host.upsert_comment(REPO, 7, "plan", "Plan: 3 to add")
    assert host.updated == []
    assert host.posted == [f"{comment_marker('plan')}\nPlan: 3 to add"]  # posted beside it
    assert comment.id == 2
    assert host.comments[0].body == planted


async def test_shipyards_comment_after_a_planted_one_is_the_one_updated() -> None:
    bodies = [f"{comment_marker('plan')}\nfake", "lgtm", f"{comment_marker('plan')}\nold"]
    host = InMemoryComments(bodies, authors=["mallory", "mira", "Shipyard[Bot]"])
    assert await host.find_comment(REPO, 7, "plan") == host.comments[2]  # logins: any case
    await host.upsert_comment(REPO, 7, "plan", "new")
    assert host.posted == []
    assert host.updated == [(3, f"{comment_marker('plan')}\nnew")]


async def test_a_marked_comment_without_an_author_is_not_shipyards() -> None:
    host = InMemoryComments([f"{comment_marker('plan')}\nold"])
    host.comments = [Comment(id=1, body=f"{comment_marker('plan')}\nold")]
    assert await host.find_comment(REPO, 7, "plan") is None


async def test_the_identity_is_looked_up_only_once_a_marked_comment_turns_up() -> None:
    host = InMemoryComments(["hello", "lgtm"])
    assert await host.find_comment(REPO, 7, "plan") is None
    assert host.identity_lookups == 0
    host = InMemoryComments([f"{comment_marker('plan')}\na", f"{comment_marker('plan')}\nb"])
    host.comments = [replace(c, author="mallory") for c in host.comments]
    assert await host.find_comment(REPO, 7, "plan") is None
    assert host.identity_lookups == 1


def test_identity_logins_compare_case_insensitively() -> None:
    assert SHIPYARD.wrote(Comment(id=1, body="", author="SHIPYARD[bot]"))
    assert not SHIPYARD.wrote(Comment(id=1, body="", author="shipyard"))
    assert not SHIPYARD.wrote(Comment(id=1, body="", author=None))


async def test_check_runs_fall_back_to_commit_statuses() -> None:
    host = InMemoryComments([])
    running = CheckRun(name="shipyard/review", status=CheckStatus.IN_PROGRESS, title="running")
    done = CheckRun(
        name="shipyard/review",
        status=CheckStatus.COMPLETED,
        conclusion=CommitState.FAILURE,
        title="2 steps failed",
        details_url="https://shipyard.example/runs/1",
    )
    await host.create_check_run(REPO, "a" * 40, running)
    await host.update_check_run(REPO, "a" * 40, done)
    assert host.statuses == [
        CommitStatus(CommitState.PENDING, "shipyard/review", "running", None),
        CommitStatus(
            CommitState.FAILURE,
            "shipyard/review",
            "2 steps failed",
            "https://shipyard.example/runs/1",
        ),
    ]


def test_completed_check_without_conclusion_is_success() -> None:
    check = CheckRun(name="c", status=CheckStatus.COMPLETED)
    assert check_as_status(check).state is CommitState.SUCCESS


async def test_not_configured_names_the_settings() -> None:
    host = NotConfiguredProvider("gitea", "Gitea", "GITEA_URL and GITEA_TOKEN")
    with pytest.raises(
        NotConfigured, match="Gitea is not configured: set GITEA_URL and GITEA_TOKEN"
    ):
        await host.default_branch(REPO)
    with pytest.raises(NotConfigured, match="set_commit_status"):
        await host.set_commit_status(REPO, "a", CommitStatus(CommitState.PENDING, "c"))
    with pytest.raises(NotConfigured):
        await host.upsert_comment(REPO, 1, "m", "b")
    with pytest.raises(NotConfigured, match="get_comment"):
        await host.get_comment(REPO, 1, 5)
    with pytest.raises(NotConfigured, match="identity"):
        await host.identity()
    with pytest.raises(NotConfigured, match="pull_requests_for_commit"):
        await host.pull_requests_for_commit(REPO, "a" * 40)


def test_a_host_has_a_deployments_api_unless_it_says_otherwise() -> None:
    host = NotConfiguredProvider("github", "GitHub", "GITHUB_TOKEN")
    assert host.deployments_are_statuses is False
