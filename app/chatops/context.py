"""What a command runs with (`CommandContext`) and what it answers (`Reply`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.access.commands import CommentAuthor
from app.chatops.config import ChatopsConfig
from app.chatops.parse import Command
from app.db.models.deployments import DeploymentJob
from app.deployments import jobs
from app.environments.config import EnvironmentSpec
from app.environments.gate import Refusal
from app.environments.requesters import Requester
from app.services import Services
from providers.base import Provider
from providers.vocabulary import PullRequest, Reaction, Repo

__all__ = ["CommandContext", "Reply"]


@dataclass(frozen=True)
class Reply:
    """The comment answering a command, and the reaction left on the command: `rocket` when
    it started something, `+1` when it only told or did what was asked, `-1` when refused."""

    text: str
    reaction: Reaction

    @classmethod
    def started(cls, text: str) -> Reply:
        return cls(text, Reaction.ROCKET)

    @classmethod
    def told(cls, text: str) -> Reply:
        return cls(text, Reaction.THUMBS_UP)

    @classmethod
    def refused(cls, text: str) -> Reply:
        return cls(text, Reaction.THUMBS_DOWN)

    @classmethod
    def refusal(cls, refusal: Refusal) -> Reply:
        return cls.refused(f"Refused by the **{refusal.gate}** gate: {refusal}")


@dataclass(frozen=True)
class CommandContext:
    """One command, on one pull request, as the host has them now."""

    services: Services
    client: Provider
    host: str  # the provider's name: github, gitlab, gitea, forgejo
    installation_id: int | None
    repo: Repo
    pull: PullRequest
    author: CommentAuthor
    command: Command
    chatops: ChatopsConfig
    environments: Mapping[str, EnvironmentSpec]
    default_branch: str
    own_contexts: frozenset[str] = frozenset()  # the statuses Shipyard writes here (not CI)

    @property
    def number(self) -> int:
        return self.pull.number

    @property
    def login(self) -> str:
        return self.author.comment.author or ""

    @property
    def requester(self) -> Requester:
        return Requester.person(self.host, self.login)

    def spelled(self, name: str, *words: str) -> str:
        """A command as people type it here: `/deploy staging`."""
        return " ".join([f"{self.chatops.prefix}{name}", *words])

    def environment_list(self) -> str:
        return ", ".join(self.environments) or "none: declare them under `environments:`"

    def no_such_environment(self, name: str) -> Reply:
        return Reply.refused(
            f"{self.repo.full_name} has no environment {name!r} "
            f"(environments: {self.environment_list()})."
        )

    async def jobs_here(
        self, states: Sequence[str], environment: str | None = None
    ) -> list[DeploymentJob]:
        """This pull request's jobs in `states` (in `environment`, if given), oldest first."""
        found = await jobs.list_jobs(
            self.services.sessions,
            provider=self.host,
            repository=self.repo.full_name,
            environment=environment,
            states=states,
            pr_number=self.number,
            limit=100,
        )
        return found[::-1]
