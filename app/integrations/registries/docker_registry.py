"""`docker-registry`: a registry that speaks the Docker Registry HTTP API v2 — Harbor, Quay,
GHCR, GitLab's and Gitea's registries, Docker Hub, the CNCF distribution registry.

Config: `endpoint` (`https://registry.example.com`; `http://` is spoken plainly, as to a local
registry), `timeout`, `retries`. The credential reference resolves to `user:password`, or to a
bare token (signed in as user "token", which GHCR, GitLab and Gitea accept). The protocol is
`app.releases.registry.RegistryClient`'s: bearer tokens from the challenge's realm, or basic auth.

Checks: connectivity (`GET /v2/` answers 200, or 401 with a challenge), authentication (with
the credential, `/v2/` answers 200, a token fetched where it asks for one), functionality
(`GET /v2/_catalog?n=1` reads). Discovers `repositories` (the catalog) and `tags` (of the scope's
`repository`), and answers a tag's manifest digest (`ImageRegistry`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from typing import Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import field_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource
from app.integrations.errors import Code, IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.spec import ProviderSpec
from app.releases.registry import (
    Failure,
    ImageReference,
    RegistryClient,
    RegistryCredential,
    RegistryError,
    is_repository_name,
)

__all__ = [
    "PROVIDER",
    "PROVIDER_NAME",
    "DockerRegistry",
    "ImageRegistry",
    "RegistryConfig",
    "connect",
    "endpoint_host",
    "integration_error",
    "registry_name",
]

PROVIDER_NAME = "docker-registry"
T = TypeVar("T")


def registry_name(host: str) -> str:
    """An integration name for a registry host: `localhost:5000` → `localhost-5000` (what
    migration 0010 named the registries it moved, by the same rule)."""
    return re.sub(r"[^a-z0-9._-]", "-", host.lower())[:100]


def endpoint_host(endpoint: str) -> str:
    """The host[:port] an endpoint URL names, lower case: how images name the registry."""
    return httpx.URL(endpoint).netloc.decode("ascii").lower()


class RegistryConfig(ProviderConfig):
    endpoint: str

    @field_validator("endpoint")
    @classmethod
    def _registry_root(cls, value: str) -> str:
        url = httpx.URL(value)
        if url.userinfo:
            raise ValueError("give the credential as a reference (--credential), not in the URL")
        if url.path not in ("", "/") or url.query or url.fragment:
            raise ValueError(
                f"endpoint must be the registry's root (its API is at /v2/), as in "
                f"https://{url.host}; not {value!r}"
            )
        return value.rstrip("/")


@runtime_checkable
class ImageRegistry(Protocol):
    """A `registry` connector: the digest a tag of a repository points at."""

    async def manifest_digest(self, repository: str, tag: str) -> str: ...


_CODES: dict[Failure, Code] = {
    "not_found": "RESOURCE_NOT_FOUND",
    "unauthorized": "AUTHENTICATION_FAILED",
    "forbidden": "PERMISSION_DENIED",
    "credential": "CREDENTIAL_FETCH_FAILED",
    "unreachable": "CONNECTION_REFUSED",
    "timeout": "TIMEOUT",
    "rate_limited": "RATE_LIMITED",
    "unavailable": "PROVIDER_ERROR",
    "invalid": "INVALID_CONFIG",
    "protocol": "PROVIDER_ERROR",
}


def integration_error(error: RegistryError) -> IntegrationError:
    """A registry client's error as the hub's (its message names no credential)."""
    return IntegrationError(_CODES[error.failure], str(error), retry_after=error.retry_after)


async def _asked(call: Awaitable[T]) -> T:
    try:
        return await call
    except RegistryError as error:
        raise integration_error(error) from None


class DockerRegistry:
    """The connector: one registry, at its endpoint, signed in with its credential."""

    def __init__(self, context: ConnectorContext) -> None:
        self._context = context
        self.endpoint = context.endpoint()
        self.host = endpoint_host(self.endpoint)
        plain = httpx.URL(self.endpoint).scheme == "http"
        self._client = RegistryClient(
            context.http,
            self._credential,
            plain_http_hosts=(self.host,) if plain else (),
            https_hosts=() if plain else (self.host,),
            timeout=context.config.timeout,
        )

    async def _credential(self, _host: str) -> RegistryCredential | None:
        value = await self._context.credential()
        return RegistryCredential.parse(value) if value else None

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            return await self._answers()
        if level == "authentication":
            return await self._signs_in()
        names = await _asked(self._client.repositories(self.host, page=1, limit=1))
        return "the catalog reads" + (" (it lists repositories)" if names else " (it is empty)")

    async def _answers(self) -> str:
        ping = await _asked(self._client.ping(self.host))
        api = f"{self.endpoint}/v2/"
        if ping.status == 200:
            return f"{api} answers without asking for a sign-in"
        if ping.status == 401:
            if ping.challenge is not None and ping.challenge.scheme in ("basic", "bearer"):
                return f"{api} answers, asking for {ping.challenge.scheme} sign-in"
            raise IntegrationError(
                "PROVIDER_ERROR", f"{api} answered 401 without a challenge Shipyard can answer"
            )
        if ping.status == 404:
            raise IntegrationError(
                "INVALID_CONFIG", f"no Registry API v2 at {api} (404): is the endpoint right?"
            )
        if ping.status == 429:
            raise IntegrationError("RATE_LIMITED", f"{api} answered 429")
        raise IntegrationError("PROVIDER_ERROR", f"{api} answered {ping.status}")

    async def _signs_in(self) -> str:
        how = await _asked(self._client.sign_in(self.host))
        if how == "bearer":
            return "signed in: the registry's token service gave a token"
        if how == "basic":
            return "signed in with basic auth"
        if self._context.credential_ref:
            return "the registry lets anyone in at /v2/; the credential is sent where it asks"
        return "the registry lets anyone in at /v2/ (the integration has no credential)"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        if resource_type == "repositories":
            names = await _asked(self._client.repositories(self.host))
            return [
                Resource("repository", name, id=name, details={"image": f"{self.host}/{name}"})
                for name in names
            ]
        if resource_type == "tags":
            repository = self._repository(scope)
            ref = ImageReference(self.host, repository)
            tags = await _asked(self._client.tags(ref))
            return [
                Resource(
                    "tag",
                    tag,
                    id=f"{repository}:{tag}",
                    details={"repository": repository, "image": f"{self.host}/{repository}"},
                )
                for tag in tags
            ]
        raise IntegrationError(
            "UNSUPPORTED",
            f"{PROVIDER_NAME} cannot discover {resource_type!r} (it discovers: repositories, tags)",
        )

    def _repository(self, scope: Mapping[str, str]) -> str:
        given = str(scope.get("repository") or "").strip()
        if not given:
            raise IntegrationError(
                "INVALID_CONFIG",
                'discovering tags needs the repository they are of: give {"repository": '
                '"acme/web"} as its scope',
            )
        repository = given.removeprefix(f"{self.host}/")
        if not is_repository_name(repository):
            raise IntegrationError(
                "INVALID_CONFIG",
                f"{given[:100]!r} is not a repository's name (lower-case path components, "
                "as in acme/web)",
            )
        return repository

    async def manifest_digest(self, repository: str, tag: str) -> str:
        """The `sha256:…` digest `tag` of `repository` points at (RESOURCE_NOT_FOUND when the
        registry has no such repository or tag)."""
        return await _asked(self._client.digest_of(ImageReference(self.host, repository), tag))


def connect(context: ConnectorContext) -> DockerRegistry:
    return DockerRegistry(context)


PROVIDER = ProviderSpec(
    name=PROVIDER_NAME,
    type="registry",
    title=(
        "Docker Registry HTTP API v2 (Harbor, Quay, GHCR, GitLab's and Gitea's registries, "
        "Docker Hub)"
    ),
    config=RegistryConfig,
    connect=connect,
    resource_types=("repositories", "tags"),
)
