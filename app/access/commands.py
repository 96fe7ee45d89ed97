"""Who wrote this comment command, really? The comment re-read through the host (its author,
body and pull request, as the host says — not as a payload claims), bots and Shipyard itself
set aside, and the author's role on the repository, for the caller to hold against each
command's floor."""

from __future__ import annotations

from dataclasses import dataclass

from app.access.permissions import PermissionCache
from app.access.roles import role_name
from providers.base import Provider
from providers.vocabulary import Comment, Permission, Repo

__all__ = ["CommentAuthor", "comment_author"]


@dataclass(frozen=True)
class CommentAuthor:
    """The comment as the host has it and its author's `role`; or, when no one may command
    through it, `refused` says why and `reply` whether that is worth answering (not to a bot,
    nor to Shipyard's own comment)."""

    comment: Comment
    repo: Repo
    role: Permission = Permission.NONE
    refused: str | None = None
    reply: bool = True

    def may(self, min_role: Permission) -> str | None:
        """None when the author may give a command that needs `min_role`; else why not."""
        if self.refused is not None:
            return self.refused
        if self.role < min_role:
            return (
                f"@{self.comment.author} needs {role_name(min_role)} on {self.repo.full_name} "
                f"to command Shipyard here, and has {role_name(self.role)}"
            )
        return None


async def comment_author(
    provider: Provider, permissions: PermissionCache, repo: Repo, number: int, comment_id: int
) -> CommentAuthor:
    comment = await provider.get_comment(repo, number, comment_id)
    if comment.pull_request is not None and comment.pull_request != number:
        why = f"comment {comment_id} is not on #{number}"
        return CommentAuthor(comment, repo, refused=why, reply=False)
    identity = await provider.identity()
    author = comment.author or ""
    if author.lower() == identity.login.lower():
        return CommentAuthor(comment, repo, refused="Shipyard's own comment", reply=False)
    if comment.author_is_bot or not author:
        return CommentAuthor(
            comment, repo, refused=f"{author or 'an unknown author'} is a bot", reply=False
        )
    return CommentAuthor(comment, repo, role=await permissions.role(provider, repo, author))
