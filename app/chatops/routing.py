"""The ChatOps handler on the event router: a new comment on a pull request whose first line is
a command is answered — `eyes` at once, then the command's reply and its reaction.

The comment is acted on as the host has it now (re-read, with its author's role asked of the
host), never as the payload claims. Ignored without a word: comments that are not commands,
edited comments, comments outside pull requests, bots' (Shipyard's own included), and commands
a pipeline's `on: comment` trigger names (those are the pipeline's).
"""

from __future__ import annotations

import logging
from typing import Any

from app import metrics
from app.access.commands import comment_author
from app.access.roles import parse_role
from app.chatops.authorise import refusal
from app.chatops.checks import shipyard_contexts
from app.chatops.config import ChatopsConfig, chatops_of
from app.chatops.context import CommandContext, Reply
from app.chatops.parse import Command, CommandError, parse_command
from app.chatops.reply import react, send_reply
from app.chatops.runners import RUNNERS
from app.environments.config import environments_of
from app.environments.gate import Refusal
from app.pipelines.config import pipelines_of
from app.pipelines.default_config import read_default_config
from app.pipelines.triggers import command_in
from app.repo_config.errors import ConfigError
from app.repo_config.schema import RepoConfig
from app.routing.router import Outcome, Routed, Router
from app.services import Services
from providers.base import Provider
from providers.errors import NotConfigured, ProviderError
from providers.events import Event, EventKind
from providers.vocabulary import Reaction, Repo

__all__ = ["answer_command", "router"]

log = logging.getLogger(__name__)

router: Router[Services] = Router("chatops")

# A new comment: GitHub and Gitea say `created`; GitLab `create`, or nothing on older servers.
NEW_COMMENT = (None, "created", "create")


@router.register(EventKind.COMMENT)
async def answer_command(services: Services, routed: Routed) -> Outcome:
    """{"command": name, "reply": …} for a command answered; {"ignored": why} for one that is
    not acted on; None for a comment that is no command."""
    event = routed.event
    comment, pull = event.comment, event.pull_request
    if event.action not in NEW_COMMENT or comment is None or not comment.on_pull_request:
        return None
    if event.repository is None or not event.repository.full_name:
        return None
    if comment.id is None or pull is None or pull.number is None:
        return None
    client = services.providers(event.provider, event.installation_id)
    repo = Repo(event.repository.full_name)
    try:
        return await _answer(services, client, repo, event, pull.number, comment.id)
    except NotConfigured as error:
        return {"ignored": str(error)}


async def _answer(
    services: Services, client: Provider, repo: Repo, event: Event, number: int, comment_id: int
) -> Outcome:
    assert event.comment is not None
    assert event.repository is not None
    branch = await services.config_cache.default_branch(
        client, repo, known=event.repository.default_branch
    )
    config, broken = await _config(services, client, repo, event, branch)
    chatops = chatops_of(config) if config is not None else ChatopsConfig()
    environments = environments_of(config) if config is not None else {}
    try:
        if parse_command(event.comment.body or "", chatops.prefix, environments) is None:
            return None
    except CommandError:
        pass  # a command written wrong: answered below, once its author is known
    if config is not None and _pipelines_command(config, event.comment.body or ""):
        return {"ignored": "a pipeline's `on: comment` trigger takes this command"}
    author = await comment_author(client, services.permissions, repo, number, comment_id)
    if author.refused is not None:
        return {"ignored": author.refused}
    await react(client, repo, number, comment_id, Reaction.EYES)
    try:
        command = parse_command(author.comment.body, chatops.prefix, environments)
    except CommandError as error:
        return await _send(client, repo, number, comment_id, None, Reply.refused(str(error)))
    if command is None:
        return {"ignored": "the comment, as the host has it, gives no command"}
    if broken is not None and command.name != "help":
        return await _send(client, repo, number, comment_id, command, Reply.refused(broken))
    pull = await client.get_pull_request(repo, number)
    floor = parse_role(services.settings.min_command_role)
    why = refusal(
        command, author.comment.author or "", author.role, pull, chatops, environments, floor
    )
    if why is not None:
        return await _send(client, repo, number, comment_id, command, Reply.refused(why))
    ctx = CommandContext(
        services=services,
        client=client,
        host=event.provider,
        installation_id=event.installation_id,
        repo=repo,
        pull=pull,
        author=author,
        command=command,
        chatops=chatops,
        environments=environments,
        default_branch=branch,
        own_contexts=shipyard_contexts(config) if config is not None else frozenset(),
    )
    return await _send(client, repo, number, comment_id, command, await _run(ctx))


def _pipelines_command(config: RepoConfig, body: str) -> bool:
    """Whether a pipeline's `on: comment` trigger names the comment's command: then it is the
    pipeline's to run (its own gate answers), not a ChatOps command."""
    commands = [
        command
        for pipeline in pipelines_of(config).values()
        if pipeline.on.comment is not None
        for command in pipeline.on.comment.commands
    ]
    return command_in(body, commands) is not None


async def _config(
    services: Services, client: Provider, repo: Repo, event: Event, branch: str
) -> tuple[RepoConfig | None, str | None]:
    """The repository's config at its default branch, or why it cannot be used."""
    try:
        config = await read_default_config(
            services, client, event.provider, repo, default_branch=branch
        )
    except ConfigError as error:
        return None, f"{repo.full_name}'s .shipyard.yml is not valid: {error.summary}"
    return config, None


async def _run(ctx: CommandContext) -> Reply:
    """The command's reply; a gate's refusal or a host that did not answer, said as such.

    A command is acted on once: what it did may have been half done when something failed
    (a deployment made, its report not sent), so the delivery is not retried to do it again —
    the reply says so, and the error is logged."""
    try:
        return await RUNNERS[ctx.command.name](ctx)
    except Refusal as refused:
        return Reply.refusal(refused)
    except ProviderError as error:
        log.warning("%s: %s failed on the host: %s", ctx.repo.full_name, ctx.command.name, error)
        return Reply.refused(
            f"The host did not answer as it should ({error}); the command stopped there."
        )
    except Exception:
        log.exception("%s#%s: %s failed", ctx.repo.full_name, ctx.number, ctx.command.name)
        return Reply.refused(
            "Shipyard failed while acting on this (its log says why). Look at the "
            "deployments page before asking again: part of it may have been done."
        )


async def _send(
    client: Provider,
    repo: Repo,
    number: int,
    comment_id: int,
    command: Command | None,
    reply: Reply,
) -> dict[str, Any]:
    await send_reply(client, repo, number, comment_id, reply)
    metrics.chatops_command(command.name if command is not None else None, reply.reaction)
    return {
        "command": command.name if command is not None else None,
        "reaction": str(reply.reaction),
        "reply": reply.text.splitlines()[0] if reply.text else "",
    }
