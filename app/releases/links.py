"""Where a release's source is on its host's web pages: the repository, a commit, a tag (pure;
the web roots come from the host settings, as sign-in derives them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from app.auth.hosts import github_web_url
from app.settings import Settings

__all__ = ["HostLinks", "host_links", "web_link"]

_SHA = re.compile(r"[0-9a-f]{7,64}")
# Each host's path from the repository's page to a commit's and to a tag's.
_PATHS = {
    "github": ("commit", "tree"),
    "gitlab": ("-/commit", "-/tags"),
    "gitea": ("commit", "src/tag"),
    "forgejo": ("commit", "src/tag"),
}


def web_link(url: str | None) -> str | None:
    """`url` if a page may link to it (http or https, with a host), else None: a `javascript:`
    URL that CI sent as its build URL is shown as text, never made a link."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def _web_root(settings: Settings, provider: str) -> str | None:
    if provider == "github":
        return github_web_url(settings.github_api_url)
    if provider == "gitlab":
        return settings.gitlab_url.rstrip("/")
    if provider in ("gitea", "forgejo") and settings.gitea_url:
        return settings.gitea_url.rstrip("/")
    return None


@dataclass(frozen=True)
class HostLinks:
    """One repository's pages on its host; `repository` None when the host's web root is not
    known (every link is None then)."""

    provider: str
    repository: str | None

    def commit(self, sha: str | None) -> str | None:
        if self.repository is None or not sha or not _SHA.fullmatch(sha):
            return None
        return f"{self.repository}/{_PATHS[self.provider][0]}/{sha}"

    def tag(self, tag: str | None) -> str | None:
        if self.repository is None or not tag:
            return None
        return f"{self.repository}/{_PATHS[self.provider][1]}/{quote(tag, safe='/')}"


def host_links(settings: Settings, provider: str, repository: str) -> HostLinks:
    root = _web_root(settings, provider) if provider in _PATHS else None
    page = web_link(f"{root}/{quote(repository, safe='/')}") if root and repository else None
    return HostLinks(provider, page)
