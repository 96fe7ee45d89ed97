"""The context every job receives: settings, database sessions and the queue itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from app.db import SessionFactory
from app.settings import Settings
from jobqueue.base import JobQueue
from providers.base import Provider

# (provider name, GitHub App installation id) -> a client for that host
ProviderFactory = Callable[[str, int | None], Provider]


class JobContext(TypedDict, total=False):
    settings: Settings
    sessions: SessionFactory
    queue: JobQueue
    providers: ProviderFactory
    config_cache: Any  # app.pipelines.routing.ConfigCache
    job_try: int
    redis: Any  # arq's pool, present only under arq


class ProviderPool:
    """One client per (host, installation), kept for the life of the process: a job reuses the
    connections (and the TLS sessions) earlier jobs opened to the same host."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[tuple[str, int | None], Provider] = {}

    def __call__(self, name: str, installation_id: int | None) -> Provider:
        from providers.registry import create_provider

        key = (name, installation_id)
        if key not in self._clients:
            self._clients[key] = create_provider(
                name, self._settings, installation_id=installation_id
            )
        return self._clients[key]

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def job_context(
    settings: Settings,
    sessions: SessionFactory,
    queue: JobQueue,
    *,
    providers: ProviderFactory | None = None,
) -> JobContext:
    """The context jobs run with, the same in a worker and in the web process. Clients from
    `providers` belong to the context: jobs use them and do not close them."""
    from app.pipelines.routing import ConfigCache

    return {
        "settings": settings,
        "sessions": sessions,
        "queue": queue,
        "providers": providers or ProviderPool(settings),
        "config_cache": ConfigCache(),
    }


async def close_job_context(ctx: JobContext) -> None:
    providers = ctx.get("providers")
    if isinstance(providers, ProviderPool):
        await providers.aclose()
