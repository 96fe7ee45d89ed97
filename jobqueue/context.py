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


def job_context(
    settings: Settings,
    sessions: SessionFactory,
    queue: JobQueue,
    *,
    providers: ProviderFactory | None = None,
) -> JobContext:
    """The context jobs run with, the same in a worker and in the web process."""
    from app.pipelines.routing import ConfigCache
    from providers.registry import create_provider

    def from_settings(name: str, installation_id: int | None) -> Provider:
        return create_provider(name, settings, installation_id=installation_id)

    return {
        "settings": settings,
        "sessions": sessions,
        "queue": queue,
        "providers": providers or from_settings,
        "config_cache": ConfigCache(),
    }
