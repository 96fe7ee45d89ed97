"""What a GitHub client is built from: the API's address and an App's key or a token."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GitHubConfig"]


@dataclass(frozen=True)
class GitHubConfig:
    """github.com by default; Enterprise Server's API is `https://<host>/api/v3`."""

    api_url: str = "https://api.github.com"
    app_id: int | None = None
    # PEM text, never a path: the composition root reads key files.
    private_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
