"""Repo configs read through the provider and kept: by commit for a push to the default
branch, for `ttl` seconds by branch name otherwise; and repositories' default branches, kept
for `ttl` seconds too (an event that names one tells it)."""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from app.repo_config.schema import CONFIG_PATH, RepoConfig, RepoConfigSchema
from providers.base import Provider
from providers.vocabulary import Repo

__all__ = ["ConfigCache"]


@dataclass
class ConfigCache:
    """Parsed configs by (provider, repo, commit or branch)."""

    schema: RepoConfigSchema
    ttl: float = 60.0
    _by_sha: dict[tuple[Hashable, ...], RepoConfig | None] = field(default_factory=dict)
    _by_branch: dict[tuple[Hashable, ...], tuple[float, RepoConfig | None]] = field(
        default_factory=dict
    )
    _default_branches: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)

    async def default_branch(
        self, provider: Provider, repo: Repo, *, known: str | None = None
    ) -> str:
        """The repository's default branch: `known` (what an event says it is) is kept; else
        the host is asked, at most once a `ttl`."""
        key = (provider.name, repo.full_name)
        if known:
            self._default_branches[key] = (time.monotonic(), known)
            return known
        cached = self._default_branches.get(key)
        if cached is None or time.monotonic() - cached[0] > self.ttl:
            cached = (time.monotonic(), await provider.default_branch(repo))
            self._default_branches[key] = cached
        return cached[1]

    async def get(
        self,
        provider: Provider,
        repo: Repo,
        *,
        branch: str,
        sha: str | None,
        context: Mapping[str, Hashable] | None = None,
    ) -> RepoConfig | None:
        """The repo's config at the default branch (`sha`, when the event names that commit),
        checked with `context` (what the repository is granted: part of the cache key). None
        when there is no `.shipyard.yml`. Raises ConfigError when it is invalid."""
        checked = frozenset((context or {}).items())
        if sha is not None:
            key = (provider.name, repo.full_name, sha, checked)
            if key not in self._by_sha:
                self._by_sha[key] = await self._read(provider, repo, sha, context)
            return self._by_sha[key]
        key = (provider.name, repo.full_name, branch, checked)
        cached = self._by_branch.get(key)
        if cached is None or time.monotonic() - cached[0] > self.ttl:
            cached = (time.monotonic(), await self._read(provider, repo, branch, context))
            self._by_branch[key] = cached
        return cached[1]

    async def _read(
        self, provider: Provider, repo: Repo, ref: str, context: Mapping[str, Hashable] | None
    ) -> RepoConfig | None:
        text = await provider.read_file(repo, CONFIG_PATH, ref)
        if text is None:
            return None
        decoded = text.decode("utf-8", errors="replace")
        return self.schema.parse(decoded, filename=CONFIG_PATH, context=context)
