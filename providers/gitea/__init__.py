"""Gitea and Forgejo: the client (one for both), and how one is built."""

from __future__ import annotations

from providers.base import Provider
from providers.gitea.client import GiteaClient
from providers.gitea.config import GiteaConfig
from providers.mask import Mask

__all__ = ["GiteaClient", "GiteaConfig", "client_for", "forgejo_client_for"]


def client_for(
    config: GiteaConfig, mask: Mask, *, installation_id: int | None = None
) -> Provider | None:
    """The Gitea client, or None unless the URL and the token are set."""
    return _client(config, mask, "gitea")


def forgejo_client_for(
    config: GiteaConfig, mask: Mask, *, installation_id: int | None = None
) -> Provider | None:
    """The same client for Forgejo, which is configured with the Gitea settings."""
    return _client(config, mask, "forgejo")


def _client(config: GiteaConfig, mask: Mask, name: str) -> GiteaClient | None:
    if not config.url or not config.token:
        return None
    return GiteaClient(config.url, config.token, mask=mask, name=name)
