"""SHIPYARD_REPO_ALLOWLIST: the repositories Shipyard acts on, as `host:glob` items (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from app.globs import match_glob

__all__ = ["RepoAllowlist"]

_HOSTS = ("github", "gitlab", "gitea", "forgejo")


@dataclass(frozen=True)
class RepoAllowlist:
    """No patterns: every repository the credentials reach (a GitHub App's installations
    already scope that). Globs are the triggers' (`*` within a segment, `**` across them);
    repository names compare case-insensitively, as the hosts treat them."""

    patterns: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> RepoAllowlist:
        """`github:acme/*, gitlab:group/**`; ValueError naming a malformed item."""
        patterns: list[tuple[str, str]] = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            host, colon, glob = item.partition(":")
            if not colon or host not in _HOSTS or not glob:
                raise ValueError(
                    f"SHIPYARD_REPO_ALLOWLIST item {item!r} is not host:glob "
                    f"(host one of {', '.join(_HOSTS)}), as in github:acme/*"
                )
            patterns.append((host, glob.lower()))
        return cls(tuple(patterns))

    def allows(self, provider: str, repository: str) -> bool:
        if not self.patterns:
            return True
        host = "gitea" if provider == "forgejo" else provider
        name = repository.lower()
        return any(
            (pattern_host == host or {pattern_host, host} == {"gitea", "forgejo"})
            and match_glob(glob, name)
            for pattern_host, glob in self.patterns
        )
