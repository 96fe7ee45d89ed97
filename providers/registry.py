"""Picking the client for a host by name, or one that says which settings are missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from providers import gitea, github, gitlab
from providers.base import Provider
from providers.gitea import GiteaConfig
from providers.github import GitHubConfig
from providers.gitlab import GitLabConfig
from providers.mask import Mask
from providers.not_configured import NotConfiguredProvider
from providers.vocabulary import TokenScope

__all__ = ["HOSTS", "HostConfigs", "create_provider"]


@dataclass(frozen=True)
class HostConfigs:
    """Every host's config, and the mask each client teaches its credentials to.

    The composition root builds it from the settings.
    """

    mask: Mask
    github: GitHubConfig = field(default_factory=GitHubConfig)
    gitlab: GitLabConfig = field(default_factory=GitLabConfig)
    gitea: GiteaConfig = field(default_factory=GiteaConfig)  # Forgejo uses the Gitea settings


# (configs, installation id, token scope) -> the host's client, or None when not configured
_Build = Callable[[HostConfigs, int | None, TokenScope | None], Provider | None]


@dataclass(frozen=True)
class _Host:
    display_name: str
    settings_hint: str
    build: _Build


HOSTS: dict[str, _Host] = {
    "github": _Host(
        "GitHub",
        "GITHUB_APP_ID and GITHUB_PRIVATE_KEY (a GitHub App) or GITHUB_TOKEN",
        lambda c, installation, scope: github.client_for(
            c.github, c.mask, installation_id=installation, scope=scope
        ),
    ),
    "gitlab": _Host(
        "GitLab",
        "GITLAB_TOKEN (and GITLAB_URL for self-managed GitLab)",
        lambda c, installation, _scope: gitlab.client_for(
            c.gitlab, c.mask, installation_id=installation
        ),
    ),
    "gitea": _Host(
        "Gitea",
        "GITEA_URL and GITEA_TOKEN",
        lambda c, installation, _scope: gitea.client_for(
            c.gitea, c.mask, installation_id=installation
        ),
    ),
    "forgejo": _Host(
        "Forgejo",
        "GITEA_URL and GITEA_TOKEN",
        lambda c, installation, _scope: gitea.forgejo_client_for(
            c.gitea, c.mask, installation_id=installation
        ),
    ),
}


def create_provider(
    name: str,
    configs: HostConfigs,
    *,
    installation_id: int | None = None,
    scope: TokenScope | None = None,
) -> Provider:
    """The client for host `name`; unconfigured hosts get one that refuses, naming the settings.

    `scope` narrows GitHub App installation tokens to the work at hand. GitLab, Gitea and
    Forgejo have no such tokens (the client has the one configured token, minted by no one),
    so for them it is ignored, as it is for GitHub with a plain token.
    """
    host = HOSTS.get(name)
    if host is None:
        raise ValueError(f"unknown provider {name!r}; known: {', '.join(HOSTS)}")
    client = host.build(configs, installation_id, scope)
    return client or NotConfiguredProvider(name, host.display_name, host.settings_hint)
