"""What domain code receives: the process's services, built once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from app.access.allowlist import RepoAllowlist
from app.access.permissions import PermissionCache
from app.db.engine import SessionFactory
from app.deployments.executors.ssh_pool import SshConnections
from app.integrations.hub import Hub
from app.repo_config.cache import ConfigCache
from app.routing.router import EventRouter
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets
from app.settings import Settings
from jobqueue.base import JobQueue
from providers.base import Provider
from providers.registry import HostConfigs, create_provider
from providers.vocabulary import TokenScope
from steps.sandbox import SandboxPolicy

__all__ = ["JobBody", "ProviderFactory", "ProviderPool", "Services", "StaleWork"]


class ProviderFactory(Protocol):
    """(provider name, GitHub App installation id, token scope) -> a client for that host; a
    scope narrows a GitHub App's token to some repositories and permissions (other hosts'
    credentials cannot be narrowed, and ignore it)."""

    def __call__(
        self, name: str, installation_id: int | None, scope: TokenScope | None = None, /
    ) -> Provider: ...


@dataclass(frozen=True)
class Services:
    """Everything a job body, a handler or a page works with. One per process (web, worker,
    CLI); `app.wiring` builds it from `Settings` and closes what it opened."""

    settings: Settings
    sessions: SessionFactory
    queue: JobQueue
    providers: ProviderFactory
    config_cache: ConfigCache
    secrets: Secrets
    mask: Masker  # every credential this process holds; work masks with a child of it
    http: httpx.AsyncClient  # outbound HTTP for steps (and integrations)
    sandbox: SandboxPolicy  # where steps that run code run
    allowlist: RepoAllowlist  # the repositories Shipyard acts on
    permissions: PermissionCache  # people's roles on repositories, asked of the host
    router: EventRouter[Services]
    recovery: tuple[StaleWork, ...]  # each feature's finder of work the queue lost
    connections: SshConnections  # deploy targets' SSH connections, reused within a job
    integrations: Hub  # registered integrations: calls through breakers, tests, discovery


JobBody = Callable[..., Awaitable[object]]
"""A queue job's body: `(services, attempt, *ids)`, attempt 1 on the first try (app.jobs)."""

StaleWork = Callable[[Services, bool], Awaitable[int]]
"""A feature's recovery: put its lost or stalled work back on the queue (`at_start` True at
start-up, when everything unfinished is suspect; False in a sweep). Returns how much it found."""


class ProviderPool:
    """One client per (host, installation, scope), kept for the life of the process: a job
    reuses the connections (and the TLS sessions) earlier jobs opened to the same host."""

    def __init__(self, configs: HostConfigs) -> None:
        self._configs = configs
        self._clients: dict[tuple[str, int | None, TokenScope | None], Provider] = {}

    def __call__(
        self, name: str, installation_id: int | None, scope: TokenScope | None = None, /
    ) -> Provider:
        key = (name, installation_id, scope)
        if key not in self._clients:
            self._clients[key] = create_provider(
                name, self._configs, installation_id=installation_id, scope=scope
            )
        return self._clients[key]

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
