"""What a GitLab client is built from: the server's address and an access token."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GitLabConfig"]


@dataclass(frozen=True)
class GitLabConfig:
    """gitlab.com by default, or a self-managed server's root URL."""

    url: str = "https://gitlab.com"
    token: str | None = field(default=None, repr=False)
