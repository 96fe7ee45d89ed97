"""Picking the client for a host by name, or one that says which settings are missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.settings import Settings
from providers import gitea, github, gitlab
from providers.base import Provider
from providers.not_configured import NotConfiguredProvider


@dataclass(frozen=True)
class _Host:
    display_name: str
    settings_hint: str
    from_settings: Callable[..., Provider | None]


HOSTS: dict[str, _Host] = {
    "github": _Host(
        "GitHub",
        "GITHUB_APP_ID and GITHUB_PRIVATE_KEY (a GitHub App) or GITHUB_TOKEN",
        github.from_settings,
    ),
    "gitlab": _Host(
        "GitLab", "GITLAB_TOKEN (and GITLAB_URL for self-managed GitLab)", gitlab.from_settings
    ),
    "gitea": _Host("Gitea", "GITEA_URL and GITEA_TOKEN", gitea.from_settings),
    "forgejo": _Host("Forgejo", "GITEA_URL and GITEA_TOKEN", gitea.forgejo_from_settings),
}


def create_provider(
    name: str, settings: Settings, *, installation_id: int | None = None
) -> Provider:
    """The client for host `name`; unconfigured hosts get one that refuses with the settings."""
    host = HOSTS.get(name)
    if host is None:
        raise ValueError(f"unknown provider {name!r}; known: {', '.join(HOSTS)}")
    client = host.from_settings(settings, installation_id=installation_id)
    return client or NotConfiguredProvider(name, host.display_name, host.settings_hint)
