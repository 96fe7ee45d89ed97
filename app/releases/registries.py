"""The registries Shipyard reads images from: `docker-registry` integrations (`shipyard
registries add HOST`, or `shipyard integrations create`), each an endpoint and a server-side
credential reference, never a value in the database.

A component that names its `registry:` is read through that integration (the hub: its breaker,
its endpoint, its credential). Any other is read from the host its image names, signed in with
the credential of the docker-registry integration whose endpoint is that host, if there is one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx

from app.db.engine import SessionFactory
from app.integrations import store
from app.integrations.connector import Connector
from app.integrations.errors import Code, IntegrationError
from app.integrations.model import Integration
from app.integrations.registries.docker_registry import (
    PROVIDER,
    PROVIDER_NAME,
    ImageRegistry,
    endpoint_host,
    registry_name,
)
from app.releases.registry import (
    Failure,
    ImageNotFound,
    RegistryClient,
    RegistryCredential,
    RegistryError,
    is_loopback,
    registry_host,
    split_reference,
)
from app.services import Services
from app.settings import Settings

__all__ = [
    "SUGGESTED_TAGS",
    "ImageDigests",
    "RegistryExists",
    "add_registry",
    "describe_registry",
    "find_registry",
    "image_digests",
    "is_plain_http",
    "list_registries",
    "nearest_tags",
    "registry_client",
    "remove_registry",
    "tag_suggestions",
]

SUGGESTED_TAGS = 5


class RegistryExists(ValueError):
    pass


def _host_of(integration: Integration) -> str:
    return registry_host(endpoint_host(str(integration.config.get("endpoint") or "")))


def is_plain_http(integration: Integration) -> bool:
    return str(integration.config.get("endpoint") or "").startswith("http://")


async def list_registries(sessions: SessionFactory) -> list[Integration]:
    """Every docker-registry integration, by name."""
    return await store.list_integrations(sessions, provider=PROVIDER_NAME)


async def find_registry(sessions: SessionFactory, host: str) -> Integration | None:
    """The docker-registry integration whose endpoint is `host` (host[:port]), or, failing
    that, the one named `host`."""
    found = await list_registries(sessions)
    wanted = registry_host(host)
    for integration in found:
        if _host_of(integration) == wanted:
            return integration
    return next((i for i in found if i.name == host.lower()), None)


async def add_registry(
    sessions: SessionFactory,
    settings: Settings,
    host: str,
    credential: str | None,
    *,
    plain_http: bool = False,
    repositories: Sequence[str] = (),
) -> Integration:
    """A docker-registry integration for `host`, named after it (`localhost:5000` →
    `localhost-5000`), spoken to over plain http when `plain_http` or a loopback host (as
    Docker does); `repositories` (globs) may name it as a component's `registry:`.
    RegistryExists when one is there already; store.InvalidIntegration when the credential
    is not a usable reference."""
    host = host.lower()
    plain_http = plain_http or is_loopback(host)
    existing = await find_registry(sessions, host)
    if existing is not None and _host_of(existing) == registry_host(host):
        raise RegistryExists(f"registry {host} is already added (integration {existing.name})")
    try:
        return await store.create_integration(
            sessions,
            settings,
            {PROVIDER.name: PROVIDER},
            name=registry_name(host),
            type="registry",
            provider=PROVIDER_NAME,
            config={"endpoint": f"{'http' if plain_http else 'https'}://{host}"},
            credential_ref=credential,
            description=f"registry {host} (added with `shipyard registries add`)",
            repositories=repositories,
        )
    except store.IntegrationExists as error:
        raise RegistryExists(f"{error}; it is not registry {host}") from None


async def remove_registry(sessions: SessionFactory, host: str) -> Integration | None:
    """Remove the docker-registry integration of `host` (or named `host`); None if none is."""
    found = await find_registry(sessions, host)
    if found is None:
        return None
    return await store.delete_integration(sessions, found.id)


async def registry_client(services: Services) -> RegistryClient:
    """A client for every registry, signing in where a docker-registry integration has a
    credential for the host (resolved through the hub: a reference that cannot be read is a
    RegistryError saying CREDENTIAL_FETCH_FAILED and naming it)."""
    found = {
        _host_of(integration): integration
        for integration in await list_registries(services.sessions)
    }
    resolved: dict[str, RegistryCredential] = {}

    async def credential(host: str) -> RegistryCredential | None:
        integration = found.get(registry_host(host))
        if integration is None or not integration.credential_ref:
            return None
        if host not in resolved:
            try:
                value = await services.integrations.resolve(integration.credential_ref)
            except IntegrationError as error:
                raise LookupError(str(error)) from None
            resolved[host] = RegistryCredential.parse(value)
        return resolved[host]

    plain = [host for host, integration in found.items() if is_plain_http(integration)]
    return RegistryClient(services.http, credential, plain_http_hosts=plain)


_FAILURES: dict[Code, Failure] = {
    "RESOURCE_NOT_FOUND": "not_found",
    "AUTHENTICATION_FAILED": "unauthorized",
    "PERMISSION_DENIED": "forbidden",
    "CREDENTIAL_FETCH_FAILED": "credential",
    "CONNECTION_REFUSED": "unreachable",
    "TIMEOUT": "timeout",
    "RATE_LIMITED": "rate_limited",
    "INTEGRATION_UNHEALTHY": "unavailable",
    "PROVIDER_ERROR": "unavailable",
}


Asker = tuple[str, str]
"""(provider, repository): whose config names a component's `registry:`."""


class ImageDigests:
    """The digests of a release's components: through the integration a component's
    `registry:` names (which must be granted to the repository asking, `for_repository`), or
    (none named) from the registry its image's host is. Both raise ImageNotFound for an image
    or tag not pushed (yet), RegistryError for the rest."""

    def __init__(
        self, services: Services, client: RegistryClient, for_repository: Asker | None
    ) -> None:
        self._services = services
        self._client = client
        self._asker = for_repository

    async def manifest_digest(self, image: str, tag: str, registry: str | None = None) -> str:
        if registry is None:
            return await self._client.manifest_digest(image, tag)
        try:
            repository = split_reference(image).name
        except ValueError as error:
            raise RegistryError(image, tag, str(error), failure="invalid") from None

        async def digest(connector: Connector) -> str:
            if not isinstance(connector, ImageRegistry):
                raise IntegrationError("INVALID_CONFIG", "cannot resolve image digests")
            return await connector.manifest_digest(repository, tag)

        try:
            return await self._services.integrations.call(
                registry, digest, type="registry", for_repository=self._asker
            )
        except IntegrationError as error:
            if error.code == "RESOURCE_NOT_FOUND":
                reason = f"registry {registry} has no such image or tag"
                raise ImageNotFound(image, tag, reason) from None
            reason = str(error)
            if error.code == "INTEGRATION_NOT_FOUND":
                reason += (
                    " (the component's `registry:`; add it with `shipyard registries add` or "
                    "`shipyard integrations create`)"
                )
            failure = _FAILURES.get(error.code, "protocol")
            raise RegistryError(
                image, tag, reason, failure=failure, retry_after=error.retry_after
            ) from None


async def image_digests(services: Services, for_repository: Asker | None) -> ImageDigests:
    """Digests for the components of `for_repository`'s releases (None: the server's own
    asking, which any registry integration serves)."""
    return ImageDigests(services, await registry_client(services), for_repository)


def nearest_tags(wanted: str, tags: Iterable[str], limit: int = SUGGESTED_TAGS) -> list[str]:
    """Up to `limit` of `tags`, the most like `wanted` first; of those alike, the highest
    version first (`v1.10` before `v1.9`)."""
    known = list(dict.fromkeys(tags))
    if limit <= 0:
        return []
    matcher = difflib.SequenceMatcher(b=wanted)

    def likeness(tag: str) -> float:
        matcher.set_seq1(tag)
        return matcher.ratio()

    newest_first = sorted(known, key=_version_key, reverse=True)
    return sorted(newest_first, key=likeness, reverse=True)[:limit]


def _version_key(tag: str) -> list[int | str]:
    """`v1.10` → ["v", 1, ".", 10, ""]: numbers compared as numbers (parts alternate, so a
    number is only ever compared with a number)."""
    return [int(part) if index % 2 else part for index, part in enumerate(re.split(r"(\d+)", tag))]


async def tag_suggestions(
    services: Services,
    image: str,
    tag: str,
    registry: str | None = None,
    *,
    for_repository: Asker | None = None,
    limit: int = SUGGESTED_TAGS,
) -> list[str]:
    """Up to `limit` tags the registry has for `image`'s repository, the most like `tag`
    first: asked through the integration (`registry`, if granted to `for_repository`, or the
    docker-registry integration of the image's host; cached by the hub's discovery), else of
    the registry itself. [] when it cannot say (no such repository, no listing, unreachable,
    not granted)."""
    try:
        ref = split_reference(image)
        integration: Integration | None
        if registry is not None:
            integration = await services.integrations.integration(registry)
            if for_repository is not None and not store.allows(integration, *for_repository):
                return []
        else:
            integration = await find_registry(services.sessions, ref.host)
            if integration is not None and _host_of(integration) != ref.host:
                integration = None
        if integration is not None:
            found = await services.integrations.discover(
                integration, "tags", scope={"repository": ref.name}
            )
            tags: Sequence[str] = [resource.name for resource in found.resources]
        else:
            client = await registry_client(services)
            tags = await client.tags(ref, limit=1000)
    except (IntegrationError, RegistryError, ValueError, httpx.HTTPError):
        return []
    return nearest_tags(tag, tags, limit)


def describe_registry(integration: Integration) -> Mapping[str, Any]:
    """What `shipyard registries list` shows of one."""
    return {
        "host": _host_of(integration),
        "name": integration.name,
        "credential": integration.credential_ref,
        "plain_http": is_plain_http(integration),
        "health": integration.health,
        "repositories": list(integration.repositories),
    }
