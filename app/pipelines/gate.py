"""Which of the pipelines an event matched may run, and how: a comment's author allowed to
command them (asked of the host), and a pull request's code trusted or not (a fork's never is:
only `forks: true` pipelines run for it, without secrets and without writes)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app.access.commands import comment_author
from app.access.roles import at_least, parse_role
from app.access.trust import pull_request_trust
from app.pipelines.config import PipelineConfig, pipelines_of
from app.pipelines.config.pull_requests import pull_requests_of
from app.pipelines.triggers import TriggerMatch, command_in
from app.repo_config.schema import RepoConfig
from app.services import Services
from providers.base import Provider
from providers.events import Event, EventKind
from providers.vocabulary import PullRequest, Repo

__all__ = ["Admitted", "admit"]

log = logging.getLogger(__name__)


@dataclass
class Admitted:
    """The matches that may run, whether their code is trusted, the pull request as the host
    has it (for its head commit), and why each other match does not run."""

    matches: list[TriggerMatch] = field(default_factory=list)
    trusted: bool = True
    pull_request: PullRequest | None = None
    skipped: dict[str, str] = field(default_factory=dict)


async def admit(
    services: Services,
    provider: Provider,
    repo: Repo,
    config: RepoConfig,
    event: Event,
    matches: list[TriggerMatch],
) -> Admitted:
    admitted = Admitted(list(matches))
    number = event.pull_request.number if event.pull_request else None
    if matches and number is None and event.kind is EventKind.COMMENT:
        admitted.skipped = {m.pipeline: "the comment names no pull request" for m in matches}
        admitted.matches.clear()  # nothing to ask the host about, so nobody to authorise
    if not admitted.matches or number is None:
        return admitted
    pipelines = pipelines_of(config)
    if event.kind is EventKind.COMMENT:
        await _authorise_comment(services, provider, repo, event, number, pipelines, admitted)
        if not admitted.matches:
            return admitted
    floor = parse_role(pull_requests_of(config).min_role)
    trust = await pull_request_trust(provider, services.permissions, repo, number, floor)
    admitted.pull_request, admitted.trusted = trust.pull_request, trust.trusted
    if not trust.trusted:
        for match in list(admitted.matches):
            if not pipelines[match.pipeline].forks:
                admitted.matches.remove(match)
                admitted.skipped[match.pipeline] = f"{trust.why}; the pipeline has no forks: true"
    return admitted


async def _authorise_comment(
    services: Services,
    provider: Provider,
    repo: Repo,
    event: Event,
    number: int,
    pipelines: dict[str, PipelineConfig],
    admitted: Admitted,
) -> None:
    """Keep the matches whose command the comment, as the host has it, still gives, by an
    author with each pipeline's role; answer the first refusal on the pull request."""
    comment_id = event.comment.id if event.comment else None
    if comment_id is None:
        admitted.skipped |= {m.pipeline: "the comment has no id" for m in admitted.matches}
        admitted.matches.clear()
        return
    floor = parse_role(services.settings.min_command_role)
    author = await comment_author(provider, services.permissions, repo, number, comment_id)
    refusal: str | None = None
    for match in list(admitted.matches):
        trigger = pipelines[match.pipeline].on.comment
        wanted = (
            at_least(floor, parse_role(trigger.min_role)) if trigger and trigger.min_role else floor
        )
        why = author.may(wanted)
        if why is None and command_in(author.comment.body, [match.command or ""]) is None:
            why = "the comment no longer gives that command"
        if why is not None:
            admitted.matches.remove(match)
            admitted.skipped[match.pipeline] = why
            if author.reply and refusal is None:
                refusal = why
    if refusal is not None:
        await provider.post_comment(repo, number, f"Shipyard did not run this: {refusal}.")
