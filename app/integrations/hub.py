"""The hub: an integration by name, its connector built from its config and credential
reference, and every call to it through its breaker, with the retries its errors allow.

`test` checks an integration level by level and stores the results; `discover` asks what it
reaches, cached per (integration, resource type, scope) for the type's TTL; `read_secret`
serves `vault://` references through a `secrets` integration, cached briefly.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import httpx

from app import metrics
from app.db.engine import SessionFactory
from app.integrations import store
from app.integrations.breaker import Breakers
from app.integrations.catalogue import ProviderUnavailable, spec_for
from app.integrations.connector import Connector, ConnectorContext, Resource, SecretStore
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CHECK_LEVELS, DISCOVERY_TTL_SECONDS, CheckLevel, IntegrationType
from app.integrations.model import CheckResult, Integration, TestReport
from app.integrations.spec import ProviderSpec
from app.logs import log_context
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets
from steps.secret_refs import SecretError, SecretRef

__all__ = ["Discovery", "Hub"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Discovery:
    integration: Integration
    resource_type: str
    resources: tuple[Resource, ...]
    cached: bool
    expires_in: float

    def as_json(self) -> dict[str, object]:
        return {
            "integrationId": self.integration.id,
            "resourceType": self.resource_type,
            "resources": [resource.as_json() for resource in self.resources],
            "count": len(self.resources),
            "cached": self.cached,
            "expiresInSeconds": round(self.expires_in, 1),
        }


def matches(name: str, pattern: str | None) -> bool:
    """A glob (`web-*`), or without wildcards a part of the name; case does not matter."""
    if not pattern:
        return True
    name, pattern = name.lower(), pattern.lower()
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern in name


class Hub:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        http: httpx.AsyncClient,
        secrets: Secrets,
        mask: Masker,
        catalogue: Mapping[str, ProviderSpec],
        breakers: Breakers | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff_seconds: float = 0.5,
        secret_ttl_seconds: float = 60.0,
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.secrets = secrets
        self.mask = mask  # a child of the process mask: every credential the hub resolves
        self.catalogue = catalogue
        self.breakers = breakers or Breakers(clock=clock)
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff_seconds
        self._secret_ttl = secret_ttl_seconds
        self._connectors: dict[tuple[int, object], Connector] = {}
        self._discovered: dict[
            tuple[int, str, tuple[tuple[str, str], ...]], tuple[float, tuple[Resource, ...]]
        ] = {}
        self._secrets: dict[tuple[str, str, str], tuple[float, str]] = {}

    async def integration(self, key: store.IntegrationKey) -> Integration:
        return await store.get_integration(self.sessions, key)

    def spec(self, integration: Integration) -> ProviderSpec:
        try:
            return spec_for(self.catalogue, integration.provider)
        except ProviderUnavailable as error:
            raise IntegrationError(
                "INVALID_CONFIG", str(error), integration=integration.name
            ) from None

    async def resolve(self, reference: str) -> str:
        """A server-side reference's value (masked), or CREDENTIAL_FETCH_FAILED naming it."""
        try:
            return await self.secrets.for_server(self.mask).resolve(reference)
        except SecretError as error:
            # A vault:// read already says CREDENTIAL_FETCH_FAILED and names the reference.
            said = str(error).removeprefix(f"CREDENTIAL_FETCH_FAILED: {reference}: ")
            raise IntegrationError("CREDENTIAL_FETCH_FAILED", f"{reference}: {said}") from None

    def connector(self, integration: Integration) -> Connector:
        """The integration's connector, kept while its row is unchanged (its connections and
        tokens are reused)."""
        key = (integration.id, integration.updated_at)
        connector = self._connectors.get(key)
        if connector is None:
            spec = self.spec(integration)
            assert spec.connect is not None
            try:
                config = store.validate_config(spec, integration.config)
            except store.InvalidIntegration as error:
                raise IntegrationError(
                    "INVALID_CONFIG", str(error), integration=integration.name
                ) from None
            context = ConnectorContext(
                name=integration.name,
                config=config,
                credential_ref=integration.credential_ref,
                http=self.http,
                resolve=self.resolve,
                labels=integration.labels,
            )
            for old in [k for k in self._connectors if k[0] == integration.id]:
                del self._connectors[old]
            connector = self._connectors[key] = spec.connect(context)
        return connector

    async def call(
        self,
        key: store.IntegrationKey | Integration,
        use: Callable[[Connector], Awaitable[T]],
        *,
        type: IntegrationType | None = None,
        retries: int | None = None,
        for_repository: tuple[str, str] | None = None,
    ) -> T:
        """`use(connector)` through the integration's breaker; errors whose strategy is backoff
        are tried again, up to the config's `retries`. `for_repository` (provider, repository):
        the call is one a repository's config asked for, and that repository must be one the
        integration is granted to."""
        integration = key if isinstance(key, Integration) else await self.integration(key)
        if type is not None and integration.type != type:
            raise IntegrationError(
                "INVALID_CONFIG",
                f"is a {integration.type} integration ({integration.provider}), not a {type} one",
                integration=integration.name,
            )
        if for_repository is not None and not store.allows(integration, *for_repository):
            provider, repository = for_repository
            granted = ", ".join(integration.repositories) or "none"
            raise IntegrationError(
                "PERMISSION_DENIED",
                f"{provider}:{repository} may not use it (its repositories: {granted}; an "
                f"operator grants it with `shipyard integrations update {integration.name} "
                "--repos GLOB`)",
                integration=integration.name,
            )
        connector = self.connector(integration)
        tries = 1 + (retries if retries is not None else int(integration.config.get("retries", 2)))
        for attempt in range(tries):
            try:
                return await self._guarded(integration, connector, use, gate=True)
            except IntegrationError as error:
                if error.retry != "backoff" or attempt + 1 >= tries:
                    raise
                await self._sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _guarded(
        self,
        integration: Integration,
        connector: Connector,
        use: Callable[[Connector], Awaitable[T]],
        *,
        gate: bool,
    ) -> T:
        name = integration.name
        if gate:
            allowed, after = self.breakers.allow(name)
            if not allowed:
                self._counted(integration, "INTEGRATION_UNHEALTHY")
                raise IntegrationError(
                    "INTEGRATION_UNHEALTHY",
                    "its circuit breaker is open after repeated failures; calls resume in "
                    f"{after:.0f}s",
                    integration=name,
                    retry_after=after,
                )
        try:
            with log_context(integration=name):
                result = await use(connector)
        except IntegrationError as error:
            self.breakers.record(name, ok=not error.trips)
            self._counted(integration, error.code)
            raise error.about(name) from None
        except (httpx.HTTPError, OSError) as error:
            self.breakers.record(name, ok=False)
            self._counted(integration, "PROVIDER_ERROR")
            raise IntegrationError(
                "PROVIDER_ERROR", f"{type(error).__name__}", integration=name
            ) from None
        self.breakers.record(name, ok=True)
        self._counted(integration, "ok")
        return result

    def _counted(self, integration: Integration, outcome: str) -> None:
        """The call in the metrics, with where its breaker stands now."""
        position = self.breakers.state(integration.name).position
        metrics.integration_called(integration.name, integration.provider, outcome, position)

    async def test(
        self,
        key: store.IntegrationKey | Integration,
        levels: tuple[CheckLevel, ...] = CHECK_LEVELS,
        *,
        force: bool = True,
    ) -> TestReport:
        """Check `levels` in order (a level after a failed connectivity is not tried), store the
        results and the health they add up to. `force` checks even through an open breaker (a
        person asking); the monitor does not."""
        integration = key if isinstance(key, Integration) else await self.integration(key)
        results: dict[CheckLevel, CheckResult] = {}
        try:
            connector = self.connector(integration)
        except IntegrationError as error:  # its config no longer fits its provider
            failed = {
                level: CheckResult(level, False, 0.0, error.detail, error.code) for level in levels
            }
            stored = await store.record_checks(self.sessions, integration.id, failed)
            return TestReport(stored or integration, tuple(failed.values()))
        for level in levels:
            started = self._clock()
            if "connectivity" in results and not results["connectivity"].ok:
                results[level] = CheckResult(
                    level, False, 0.0, "not checked: it cannot be reached", "CONNECTION_REFUSED"
                )
                continue
            try:
                message = await self._guarded(
                    integration, connector, _checker(level), gate=not force
                )
            except IntegrationError as error:
                elapsed = (self._clock() - started) * 1000
                results[level] = CheckResult(level, False, elapsed, error.detail, error.code)
            else:
                elapsed = (self._clock() - started) * 1000
                results[level] = CheckResult(level, True, elapsed, message)
        stored = await store.record_checks(self.sessions, integration.id, results)
        return TestReport(stored or integration, tuple(results.values()))

    async def discover(
        self,
        key: store.IntegrationKey | Integration,
        resource_type: str,
        *,
        pattern: str | None = None,
        scope: Mapping[str, str] | None = None,
        fresh: bool = False,
    ) -> Discovery:
        integration = key if isinstance(key, Integration) else await self.integration(key)
        spec = self.spec(integration)
        if resource_type not in spec.resource_types:
            supported = ", ".join(spec.resource_types) or "none"
            raise IntegrationError(
                "UNSUPPORTED",
                f"{integration.provider} cannot discover {resource_type!r} "
                f"(it discovers: {supported})",
                integration=integration.name,
            )
        scope_key = tuple(sorted((scope or {}).items()))
        cache_key = (integration.id, resource_type, scope_key)
        now = self._clock()
        hit = self._discovered.get(cache_key)
        cached = hit is not None and hit[0] > now and not fresh
        if hit is not None and cached:
            expires, resources = hit
        else:
            found = await self.call(
                integration, lambda c: c.discover(resource_type, dict(scope_key))
            )
            expires = now + DISCOVERY_TTL_SECONDS.get(resource_type, 300.0)
            resources = tuple(found)
            self._discovered[cache_key] = (expires, resources)
        return Discovery(
            integration,
            resource_type,
            tuple(r for r in resources if matches(r.name, pattern)),
            cached,
            max(0.0, expires - now),
        )

    async def read_secret(self, ref: SecretRef) -> str:
        """The value a `vault://` reference names, through its `secrets` integration; reused
        for a short while (`secret_ttl_seconds`)."""
        assert ref.integration is not None
        assert ref.key is not None
        cache_key = (ref.integration, ref.path, ref.key)
        now = self._clock()
        hit = self._secrets.get(cache_key)
        if hit is not None and hit[0] > now:
            return hit[1]

        async def read(connector: Connector) -> str:
            if not isinstance(connector, SecretStore):
                raise IntegrationError("INVALID_CONFIG", "is not a secret store")
            return await connector.read_secret(ref.path, ref.key or "")

        try:
            value = await self.call(ref.integration, read, type="secrets")
        except IntegrationError as error:
            if error.code == "INTEGRATION_NOT_FOUND":
                raise IntegrationError(
                    "CREDENTIAL_FETCH_FAILED",
                    f"{ref}: there is no secrets integration {ref.integration!r}",
                ) from None
            raise IntegrationError(
                "CREDENTIAL_FETCH_FAILED", f"{ref}: {error}", retry_after=error.retry_after
            ) from None
        self._secrets[cache_key] = (now + self._secret_ttl, value)
        return value

    def forget(self, integration: Integration) -> None:
        """Drop what is cached for an integration that changed or went."""
        self.breakers.forget(integration.name)
        metrics.integration_forgotten(integration.name)
        for built in [k for k in self._connectors if k[0] == integration.id]:
            del self._connectors[built]
        for found in [k for k in self._discovered if k[0] == integration.id]:
            del self._discovered[found]
        for read in [k for k in self._secrets if k[0] == integration.name]:
            del self._secrets[read]


def _checker(level: CheckLevel) -> Callable[[Connector], Awaitable[str]]:
    async def check(connector: Connector) -> str:
        return await connector.check(level)

    return check
