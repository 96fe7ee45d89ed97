"""A hub with the CI and SCM providers in its catalogue, over a migrated database, and a way
to register one integration on it: what the Jenkins, host CI, SCM, step and executor tests use."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from app.db.engine import create_engine, session_factory
from app.integrations import scm, store
from app.integrations.catalogue import catalogue
from app.integrations.ci import hosts, jenkins
from app.integrations.hub import Hub
from app.integrations.model import Integration
from app.integrations.spec import ProviderSpec
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets
from app.settings import Settings
from tests.support.settings import make_settings

__all__ = ["CI_PROVIDERS", "CiHub", "ci_hub"]

CI_PROVIDERS: tuple[ProviderSpec, ...] = (jenkins.PROVIDER, *hosts.PROVIDERS, *scm.PROVIDERS)


@dataclass
class CiHub:
    """The hub, its settings and the environment its `env://` references read."""

    hub: Hub
    settings: Settings
    environ: dict[str, str]
    sleeps: list[float]

    async def register(
        self,
        name: str,
        provider: str,
        config: Mapping[str, Any],
        *,
        token: str | None = None,
    ) -> Integration:
        """Register `name`; `token` (if any) is its credential, as env://<NAME>_TOKEN."""
        spec = self.hub.catalogue[provider]
        credential = None
        if token is not None:
            variable = f"{name.upper().replace('-', '_')}_TOKEN"
            self.environ[variable] = token
            credential = f"env://{variable}"
        return await store.create_integration(
            self.hub.sessions,
            self.settings,
            self.hub.catalogue,
            name=name,
            type=spec.type,
            provider=provider,
            config=config,
            credential_ref=credential,
        )


@contextlib.asynccontextmanager
async def ci_hub(database_url: str) -> AsyncIterator[CiHub]:
    """A hub over `database_url` (migrated) whose backoff sleeps are recorded, not slept."""
    settings = make_settings(database_url)
    engine = create_engine(settings)
    environ: dict[str, str] = {}
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    try:
        async with httpx.AsyncClient() as http:
            hub = Hub(
                sessions=session_factory(engine),
                http=http,
                secrets=Secrets.from_environ(environ),
                mask=Masker(),
                catalogue={**catalogue(), **{spec.name: spec for spec in CI_PROVIDERS}},
                sleep=sleep,
            )
            yield CiHub(hub, settings, environ, sleeps)
    finally:
        await engine.dispose()
