"""People's roles on repositories, read through the host with Shipyard's own credentials and
kept a few minutes per (host, repository, login)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from providers.base import Provider
from providers.vocabulary import Permission, Repo

__all__ = ["PermissionCache"]


@dataclass
class PermissionCache:
    """`role(provider, repo, login)`: the user's permission, asked of the host at most once per
    `ttl` seconds. A role that changed on the host is seen once the entry expires."""

    ttl: float = 120.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[tuple[str, str, str], tuple[float, Permission]] = field(default_factory=dict)

    async def role(self, provider: Provider, repo: Repo, login: str) -> Permission:
        key = (provider.name, repo.full_name.lower(), login.lower())
        cached = self._seen.get(key)
        now = self.clock()
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        permission = await provider.get_permission(repo, login)
        self._seen[key] = (now, permission)
        return permission
