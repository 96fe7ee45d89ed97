"""What a Gitea or Forgejo client is built from: the server's address and an access token."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GiteaConfig"]


@dataclass(frozen=True)
class GiteaConfig:
    """A server's web root (a trailing /api/v1 is allowed); Forgejo is configured the same."""

    url: str | None = None
    token: str | None = field(default=None, repr=False)
