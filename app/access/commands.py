"""May this comment command Shipyard? The comment re-read through the host (its author, body
and pull request, as the host says — not as a payload claims), bots and Shipyard itself
ignored, and the author's role checked against the command's floor."""

from __future__ import annotations

from dataclasses import dataclass

from app.access.permissions import PermissionCache
from app.access.roles import role_name
from providers.base import Provider
from providers.vocabulary import Comment, Permission, Repo

__all__ = ["CommentCheck", "check_comment"]


@dataclass(frozen=True)
class CommentCheck:
    """The comment as the host has it; `allowed`, or why not. `reply` is False when a
    refusal is not worth answering (a bot's comment, Shipyard's own)."""

    comment: Comment | None
    allowed: bool
    why: str = ""
    reply: bool = True


async def check_comment(
    provider: Provider,
    permissions: PermissionCache,
    repo: Repo,
    number: int,
    comment_id: int,
    min_role: Permission,
) -> CommentCheck:
    comment = await provider.get_comment(repo, number, comment_id)
    if comment.pull_request is not None and comment.pull_request != number:
        return CommentCheck(comment, False, f"comment {comment_id} is not on #{number}", False)
    identity = await provider.identity()
    author = comment.author or ""
    if author.lower() == identity.login.lower():
        return CommentCheck(comment, False, "Shipyard's own comment", False)
    if comment.author_is_bot or not author:
        return CommentCheck(comment, False, f"{author or 'an unknown author'} is a bot", False)
    role = await permissions.role(provider, repo, author)
    if role < min_role:
        why = (
            f"@{author} needs {role_name(min_role)} on {repo.full_name} to command Shipyard "
            f"here, and has {role_name(role)}"
        )
        return CommentCheck(comment, False, why)
    return CommentCheck(comment, True)
