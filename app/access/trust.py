"""Whether a pull request's code is trusted: not from a fork, and opened by someone with at
least the repository's `pull_requests.min_role`. Asked of the host, never of the payload."""

from __future__ import annotations

from dataclasses import dataclass

from app.access.permissions import PermissionCache
from app.access.roles import role_name
from providers.base import Provider
from providers.vocabulary import Permission, PullRequest, Repo

__all__ = ["Trust", "pull_request_trust"]


@dataclass(frozen=True)
class Trust:
    """What a run of this pull request gets: `trusted` runs have secrets and write access."""

    pull_request: PullRequest
    trusted: bool
    why: str = ""


async def pull_request_trust(
    provider: Provider,
    permissions: PermissionCache,
    repo: Repo,
    number: int,
    min_role: Permission,
) -> Trust:
    """The pull request as the host has it now, and whether its code is trusted."""
    pull = await provider.get_pull_request(repo, number)
    if pull.from_fork:
        return Trust(pull, False, f"#{number} comes from a fork")
    if not pull.author:
        return Trust(pull, False, f"the host does not say who opened #{number}")
    role = await permissions.role(provider, repo, pull.author)
    if role < min_role:
        why = (
            f"#{number} was opened by {pull.author}, {role_name(role)} on {repo.full_name}, "
            f"below pull_requests.min_role ({role_name(min_role)})"
        )
        return Trust(pull, False, why)
    return Trust(pull, True)
