"""Building a StepContext for one step, with a provider that records what it was asked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from providers.not_configured import NotConfiguredProvider
from providers.vocabulary import (
    CloneAuth,
    Comment,
    CommitStatus,
    PullRequest,
    Reaction,
    Repo,
    WorkflowRun,
)
from steps.base import RunInfo, StepContext
from tests.fakes import FakeClock

REPO = Repo("acme/web")


class RecordingProvider(NotConfiguredProvider):
    """A host that keeps comments and statuses in memory; operations a test did not set up
    refuse, like a host without settings. Tests set `.pull_requests`, `.runs`, `.diff`,
    `.clone` as they need."""

    def __init__(self) -> None:
        super().__init__("github", "Recording", "nothing")
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.comments: list[Comment] = []
        self.statuses: list[tuple[str, CommitStatus]] = []
        self.pull_requests: list[PullRequest] = []
        self.runs: dict[str, list[WorkflowRun]] = {}  # run id -> successive answers
        self.triggered: list[tuple[str, str, dict[str, str]]] = []
        self.diff = ""
        self.clone: CloneAuth | None = None

    async def set_commit_status(self, repo: Repo, sha: str, status: CommitStatus) -> None:
        self.calls.append(("set_commit_status", (repo, sha, status)))
        self.statuses.append((sha, status))

    async def iter_comments(self, *args: Any, **kwargs: Any) -> AsyncIterator[Comment]:
        for comment in list(self.comments):
            yield comment

    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment:
        self.calls.append(("post_comment", (repo, number, body)))
        comment = Comment(id=100 + len(self.comments), body=body)
        self.comments.append(comment)
        return comment

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        self.calls.append(("update_comment", (repo, number, comment_id, body)))
        updated = Comment(id=comment_id, body=body)
        self.comments = [updated if c.id == comment_id else c for c in self.comments]
        return updated

    async def add_reaction(
        self, repo: Repo, number: int, comment_id: int, reaction: Reaction
    ) -> None:
        self.calls.append(("add_reaction", (repo, number, comment_id, reaction)))

    async def find_open_pull_request(
        self, repo: Repo, *, head: str, base: str
    ) -> PullRequest | None:
        self.calls.append(("find_open_pull_request", (repo, head, base)))
        return next(
            (
                p
                for p in self.pull_requests
                if p.head_ref == head and p.base_ref == base and p.state == "open"
            ),
            None,
        )

    async def create_pull_request(
        self, repo: Repo, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequest:
        self.calls.append(("create_pull_request", (repo, head, base, title, body, draft)))
        pull = PullRequest(
            number=len(self.pull_requests) + 1,
            title=title,
            head_ref=head,
            head_sha="f" * 40,
            base_ref=base,
            state="open",
            url=f"https://git.example/acme/web/pull/{len(self.pull_requests) + 1}",
            draft=draft,
        )
        self.pull_requests.append(pull)
        return pull

    async def default_branch(self, repo: Repo) -> str:
        return "main"

    async def trigger_workflow(
        self, repo: Repo, workflow: str, ref: str, inputs: Any = None
    ) -> WorkflowRun:
        self.triggered.append((workflow, ref, dict(inputs or {})))
        run_id = str(len(self.triggered))
        return self.runs[run_id][0]

    async def get_workflow_run(self, repo: Repo, run_id: int | str) -> WorkflowRun:
        answers = self.runs[str(run_id)]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    async def pull_request_diff(self, repo: Repo, number: int) -> str:
        self.calls.append(("pull_request_diff", (repo, number)))
        return self.diff

    async def clone_auth(self, repo: Repo) -> CloneAuth:
        if self.clone is None:
            raise AssertionError("the test did not set .clone")
        return self.clone


class StepHarness:
    """A StepContext's moving parts, kept for assertions."""

    def __init__(self, tmp_path: Path, provider: RecordingProvider) -> None:
        self.provider = provider
        self.workspace = tmp_path / "workspace"
        self.workspace.mkdir()
        self.lines: list[str] = []
        self.recorded: dict[str, Any] = {}
        self.secrets: list[str] = []

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    async def record(self, key: str, value: Any) -> None:
        self.recorded[key] = value

    def context(
        self,
        *,
        template: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        settings: Settings | None = None,
        pr_number: int | None = 7,
        attempt: int = 1,
        name: str = "step",
    ) -> StepContext:
        return StepContext(
            run=RunInfo(
                id=1,
                pipeline="review",
                provider="github",
                repo=REPO,
                sha="a" * 40,
                ref="refs/heads/feature",
                pr_number=pr_number,
                page_url="http://shipyard.test/runs/1",
            ),
            name=name,
            attempt=attempt,
            provider=self.provider,
            settings=settings or Settings(_env_file=None),  # type: ignore[call-arg]
            workspace=self.workspace,
            template=template or {},
            env=env or {},
            log=lambda line: self.lines.append(self.mask(line)),
            mask=self.mask,
            record=self.record,
            recorded=dict(self.recorded),
        )


@pytest.fixture
def provider() -> RecordingProvider:
    return RecordingProvider()


@pytest.fixture
def harness(tmp_path: Path, provider: RecordingProvider) -> StepHarness:
    return StepHarness(tmp_path, provider)


@pytest.fixture
def clock() -> FakeClock:
    """The polling steps' fake clock (trigger_ci, wait_ci), starting at 1_000_000.0."""
    return FakeClock(1_000_000.0)


MakeContext = Callable[..., StepContext]
