"""GitLab (gitlab.com and self-managed): the client, and how one is built."""

from __future__ import annotations

from providers.base import Provider
from providers.gitlab.client import GitLabClient
from providers.gitlab.config import GitLabConfig
from providers.mask import Mask

__all__ = ["GitLabClient", "GitLabConfig", "client_for"]


def client_for(
    config: GitLabConfig, mask: Mask, *, installation_id: int | None = None
) -> Provider | None:
    """The GitLab client, or None without a token and a URL. `installation_id` is GitHub's."""
    if not config.token or not config.url:
        return None
    return GitLabClient(config.url, config.token, mask=mask)
