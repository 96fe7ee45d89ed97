"""Answering a command where it was given: a reaction on the comment, and a reply comment.
The host may refuse either; that is logged, never raised (the command has been acted on)."""

from __future__ import annotations

import logging

from app.chatops.context import Reply
from providers.base import Provider
from providers.errors import ProviderError
from providers.vocabulary import Reaction, Repo

__all__ = ["MAX_REPLY", "react", "send_reply"]

log = logging.getLogger(__name__)

MAX_REPLY = 60_000  # under every host's comment limit (GitHub's is 65,536 characters)


async def react(
    provider: Provider, repo: Repo, number: int, comment_id: int, reaction: Reaction
) -> None:
    try:
        await provider.add_reaction(repo, number, comment_id, reaction)
    except (ProviderError, NotImplementedError) as error:
        log.warning("%s#%s: no %s reaction: %s", repo.full_name, number, reaction, error)


async def send_reply(
    provider: Provider, repo: Repo, number: int, comment_id: int, reply: Reply
) -> None:
    """The reply's reaction on the command, then the reply (cut to fit the host)."""
    await react(provider, repo, number, comment_id, reply.reaction)
    text = reply.text
    if len(text) > MAX_REPLY:
        text = text[: MAX_REPLY - 40] + "\n\n… (cut at the host's comment limit)"
    try:
        await provider.post_comment(repo, number, text)
    except ProviderError as error:
        log.warning("%s#%s: the reply was not posted: %s", repo.full_name, number, error)
