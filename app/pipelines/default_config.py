"""A repository's `.shipyard.yml` as every feature reads it: at the default branch, checked
against the secrets the server grants that repository, through the process's config cache.

One read serves the pipelines and the releases of an event: both ask with the same key (the
pushed commit, for a push to the default branch; else the branch name) and the same grants.
"""

from __future__ import annotations

from app.pipelines.config.references import GRANTS
from app.repo_config.schema import RepoConfig
from app.secrets.definitions import SecretGrants, all_definitions
from app.services import Services
from providers.base import Provider
from providers.events import Event, EventKind
from providers.vocabulary import Repo

__all__ = ["read_default_config"]


async def read_default_config(
    services: Services,
    provider: Provider,
    provider_name: str,
    repo: Repo,
    *,
    default_branch: str | None,
    event: Event | None = None,
) -> RepoConfig | None:
    """The config at the default branch (`default_branch`, asked of the host when None); at
    `event`'s commit when it is a push to that branch. None when the repository has none;
    ConfigError when it is invalid."""
    branch = await services.config_cache.default_branch(provider, repo, known=default_branch)
    pushed = event is not None and event.kind is EventKind.PUSH and event.branch == branch
    definitions = await all_definitions(services.sessions)
    grants = SecretGrants.for_repository(definitions.values(), provider_name, repo.full_name)
    return await services.config_cache.get(
        provider,
        repo,
        branch=branch,
        sha=event.sha if pushed and event is not None else None,
        context={GRANTS: grants},
    )
