"""Which repository a CI system means: its URL as CI has it (`https://github.com/acme/web`,
`https://gitlab.example.com/group/sub/proj.git`, `git@github.com:acme/web.git`) mapped to a
host Shipyard knows and the repository's full name there (pure).

The hosts: github.com, and the host of GITHUB_API_URL (GitHub Enterprise Server) → github;
GITLAB_URL's host → gitlab (under its path, for GitLab at a relative URL root); GITEA_URL's
host → gitea. Anything else is refused, naming the hosts Shipyard does know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from app.auth.hosts import github_web_url
from app.settings import Settings

__all__ = ["KnownHost", "UnknownRepository", "known_hosts", "repository_of_url"]

_SCP = re.compile(r"(?:[\w.-]+@)?(?P<host>[\w.-]+):(?!//)(?P<path>.+)")  # git@host:owner/name
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")


class UnknownRepository(ValueError):
    """The URL names no repository on a host Shipyard knows; the message says what to do."""


@dataclass(frozen=True)
class KnownHost:
    provider: str
    netloc: str  # host[:port], lower case
    root: str  # the path under which repositories start ("" or "/gitlab")


def _netloc(parts: SplitResult, *, web: bool = True) -> str:
    """host[:port] in lower case, without the scheme's default port (an SSH port is not the
    web's: dropped too)."""
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if web and port and port not in (80, 443) else host


def known_hosts(settings: Settings) -> list[KnownHost]:
    hosts = [KnownHost("github", "github.com", "")]
    configured = [("github", github_web_url(settings.github_api_url))]
    configured.append(("gitlab", settings.gitlab_url))
    if settings.gitea_url:
        configured.append(("gitea", settings.gitea_url))
    for provider, url in configured:
        parts = urlsplit(url)
        host = KnownHost(provider, _netloc(parts), parts.path.rstrip("/"))
        if host not in hosts:
            hosts.append(host)
    return hosts


def _host_and_path(url: str) -> tuple[str, str, bool]:
    """host[:port], the path, and whether it is a web URL (an SSH one's path has no root)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ssh", "git") and parts.hostname:
        web = parts.scheme in ("http", "https")
        return _netloc(parts, web=web), unquote(parts.path), web
    scp = _SCP.fullmatch(url)
    if scp and "/" not in scp["host"]:
        return scp["host"].lower(), "/" + scp["path"], False
    raise UnknownRepository(
        f"{url!r} is not a repository URL: give it as https://<host>/<owner>/<name>, as CI "
        "has it (CI_PROJECT_URL, github.server_url/github.repository, GIT_URL)"
    )


def repository_of_url(settings: Settings, url: str) -> tuple[str, str]:
    """(provider, full name) of the repository at `url`; UnknownRepository saying why not."""
    netloc, path, web = _host_and_path(url.strip())
    hosts = known_hosts(settings)
    for host in hosts:
        known = host.netloc if web else host.netloc.split(":")[0]  # SSH: the host alone
        if known != netloc:
            continue
        root = host.root if web else ""
        if root and not (path == root or path.startswith(root + "/")):
            continue
        name = path[len(root) :].strip("/").removesuffix(".git").removesuffix("/")
        segments = name.split("/")
        least = 2
        if (
            len(segments) < least
            or (host.provider != "gitlab" and len(segments) != least)
            or not all(_SEGMENT.fullmatch(segment) for segment in segments)
            or "-" in segments  # a page of the repository (`/-/tree/main`), not the repository
        ):
            raise UnknownRepository(
                f"{url!r} is on {host.provider} ({netloc}) but names no repository: give "
                f"https://{netloc}{host.root}/<owner>/<name>"
            )
        return host.provider, name
    names = ", ".join(sorted({host.netloc for host in hosts}))
    raise UnknownRepository(
        f"{url!r} is on {netloc}, a host Shipyard does not know (it knows {names}); set "
        "GITHUB_API_URL for GitHub Enterprise Server, GITLAB_URL or GITEA_URL for that host"
    )
