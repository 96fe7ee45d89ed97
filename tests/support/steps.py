"""Running one step by hand: a provider that records what it was asked, and a harness that
builds the StepContext (with the real masker and secret resolver) and keeps what it saw."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from app.secrets.definitions import Definition
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets
from providers.mask import Mask
from providers.not_configured import NotConfiguredProvider
from providers.vocabulary import (
    CloneAuth,
    Comment,
    CommitStatus,
    Identity,
    PullRequest,
    Reaction,
    Repo,
    WorkflowRun,
)
from steps.base import AiService, RunInfo, StepContext
from steps.sandbox import Launcher, Unsandboxed

REPO = Repo("acme/web")
TEST_PATH = "/usr/local/bin:/usr/bin:/bin"
SHIPYARD = "shipyard[bot]"  # who the recording host says Shipyard is
DEFAULT_AI = AiService(api_url="https://api.anthropic.com", model="claude-sonnet-4-5")


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

    async def identity(self) -> Identity:
        return Identity(SHIPYARD)

    async def iter_comments(self, *args: Any, **kwargs: Any) -> AsyncIterator[Comment]:
        for comment in list(self.comments):
            yield comment

    async def post_comment(self, repo: Repo, number: int, body: str) -> Comment:
        self.calls.append(("post_comment", (repo, number, body)))
        comment = Comment(id=100 + len(self.comments), body=body, author=SHIPYARD)
        self.comments.append(comment)
        return comment

    async def update_comment(self, repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        self.calls.append(("update_comment", (repo, number, comment_id, body)))
        updated = Comment(id=comment_id, body=body, author=SHIPYARD)
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


class LearningMask(Masker):
    """The real masker, remembering in order each secret it was taught."""

    def __init__(self) -> None:
        super().__init__()
        self.known: list[str] = []

    def add(self, secret: str) -> None:
        self.known.append(secret)
        super().add(secret)


class StepHarness:
    """A StepContext's moving parts, kept for assertions. `secrets` are what the harness's
    mask knows before the step runs (the engine's process mask); the step's resolver teaches
    it what the step resolves: `secret://NAME` as `grant()` defined it, from the test
    process's environment.
    Commands run unsandboxed unless a test passes `sandbox=` (tests/steps/test_sandbox.py,
    and the engine's tests, run the real one)."""

    def __init__(self, tmp_path: Path, provider: RecordingProvider) -> None:
        self.provider = provider
        self.workspace = tmp_path / "workspace"
        self.workspace.mkdir()
        self.artifacts = tmp_path / "data" / "artifacts" / "1"
        self.lines: list[str] = []
        self.recorded: dict[str, Any] = {}
        self.secrets: list[str] = []
        self.definitions: dict[str, Definition] = {}
        self.ai = DEFAULT_AI
        self.http = httpx.AsyncClient()

    def grant(self, name: str, source: str) -> None:
        """Define `secret://name` on the "server", from `source`, granted to acme/web."""
        self.definitions[name] = Definition(name, source, ("github:acme/web",))

    async def record(self, key: str, value: Any) -> None:
        self.recorded[key] = value

    def context(
        self,
        *,
        template: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        ai: AiService | None = None,
        mask: Mask | None = None,
        sandbox: Launcher | None = None,
        pr_number: int | None = 7,
        attempt: int = 1,
        name: str = "step",
    ) -> StepContext:
        mask = mask if mask is not None else Masker(self.secrets)
        definitions = dict(self.definitions)

        async def defined() -> dict[str, Definition]:
            return definitions

        resolver = Secrets.from_environ(os.environ).for_repository(
            mask, provider="github", repository=REPO.full_name, definitions=defined
        )
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
            http=self.http,
            secrets=resolver,
            mask=mask,
            workspace=self.workspace,
            artifacts=self.artifacts,
            sandbox=sandbox or Unsandboxed(),
            process_env={"PATH": os.environ.get("PATH", TEST_PATH)},
            ai=ai or self.ai,
            template=template or {},
            env=env or {},
            log=lambda line: self.lines.append(mask(line)),
            record=self.record,
            recorded=dict(self.recorded),
        )
