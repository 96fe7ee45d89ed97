"""The `pull_requests:` section: whose pull requests are trusted — their pipelines have secrets
and may write to the host. A fork's never are; nor are those of an author below `min_role`
(the server's SHIPYARD_MIN_COMMAND_ROLE does not apply here: a repository chooses)."""

from __future__ import annotations

from app.access.roles import Role
from app.repo_config.fields import FrozenModel
from app.repo_config.schema import RepoConfig, Section

__all__ = ["PULL_REQUESTS", "PullRequestsConfig", "pull_requests_of"]


class PullRequestsConfig(FrozenModel):
    """`min_role`: the least role on the repository a pull request's author needs for its code
    to be trusted (default `write`: someone who could push to the repository anyway)."""

    min_role: Role = "write"


PULL_REQUESTS: Section[PullRequestsConfig] = Section(
    "pull_requests", PullRequestsConfig, PullRequestsConfig(), declares=None
)


def pull_requests_of(config: RepoConfig) -> PullRequestsConfig:
    return PULL_REQUESTS.of(config)
