"""One interface every provider's connector speaks, and what a connector is built from.

A provider module (`registries/docker_registry.py`, `notifications/slack.py`, …) declares its
config (a pydantic model: `ProviderConfig` and what the provider needs) and a `connect` function
from a `ConnectorContext` to a `Connector`. What a connector does beyond checking and discovering
(notify, trigger a build, read a secret, query) is its own protocol, asked for by the hub by type.
A connector raises `IntegrationError` only, and never puts a credential in a message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from steps.secret_refs import Scheme, SecretError, is_reference, parse_reference

__all__ = [
    "SERVER_REFERENCE_SCHEMES",
    "Connector",
    "ConnectorContext",
    "ProviderConfig",
    "Resource",
    "SecretStore",
    "http_error",
]

SERVER_REFERENCE_SCHEMES: tuple[Scheme, ...] = ("env", "file", "vault")


class ProviderConfig(BaseModel):
    """What every integration's config holds; a provider's config adds its own keys. Fields
    named in `references` hold a credential (a webhook URL with its token in it, a header value)
    and must be a server-side reference, never the value."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    references: ClassVar[frozenset[str]] = frozenset()

    endpoint: str | None = None
    timeout: float = Field(10.0, gt=0, le=300)
    retries: int = Field(2, ge=0, le=10)

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host or " " in value:
            raise ValueError(f"endpoint must be an http:// or https:// URL, not {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials_are_references(self) -> Self:
        for name in self.references:
            value = getattr(self, name, None)
            for item in value.values() if isinstance(value, Mapping) else [value]:
                if item is None:
                    continue
                if not isinstance(item, str) or not is_reference(item):
                    raise ValueError(
                        f"{name} holds a credential: give a reference (env://VAR, "
                        "file:///path or vault://<integration>/<path>#<key>), never the value"
                    )
                try:
                    parse_reference(item, allowed=SERVER_REFERENCE_SCHEMES)
                except SecretError as error:
                    raise ValueError(f"{name}: {error}") from None
        return self


@dataclass(frozen=True)
class Resource:
    """Something an integration reaches: a repository, a tag, a job, a channel."""

    type: str
    name: str
    id: str | None = None
    url: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "id": self.id,
            "url": self.url,
            "details": dict(self.details),
        }


Resolve = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class ConnectorContext:
    """What a connector is built from. `resolve` reads a server-side reference (raising
    IntegrationError CREDENTIAL_FETCH_FAILED naming the reference) and masks its value."""

    name: str
    config: ProviderConfig
    credential_ref: str | None
    http: httpx.AsyncClient
    resolve: Resolve
    labels: Mapping[str, str] = field(default_factory=dict)

    async def credential(self) -> str | None:
        """The integration's credential, resolved now; None when it has none."""
        if not self.credential_ref:
            return None
        return await self.resolve(self.credential_ref)

    async def require_credential(self, what: str) -> str:
        value = await self.credential()
        if value is None:
            raise IntegrationError(
                "INVALID_CONFIG", f"needs a credential ({what}); give one with --credential"
            )
        return value

    def endpoint(self) -> str:
        if not self.config.endpoint:
            raise IntegrationError("INVALID_CONFIG", "needs an endpoint URL (--endpoint)")
        return self.config.endpoint


class Connector(Protocol):
    """What every provider answers: one check per level (a short message on success, an
    IntegrationError otherwise), and discovery of the resource types it supports. `scope`
    narrows a discovery where the type needs it (tags: {"repository": …}); the hub filters
    names by pattern and caches, not the connector."""

    async def check(self, level: CheckLevel) -> str: ...

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]: ...


@runtime_checkable
class SecretStore(Protocol):
    """A `secrets` connector: the value of `key` in the secret at `path`."""

    async def read_secret(self, path: str, key: str) -> str: ...


def http_error(error: Exception, what: str) -> IntegrationError:
    """An httpx failure (or an error status) as the hub's error, naming `what` was asked."""
    if isinstance(error, httpx.HTTPStatusError):
        response = error.response
        status = response.status_code
        if status == 401:
            return IntegrationError(
                "AUTHENTICATION_FAILED", f"{what}: the credential was refused (401)"
            )
        if status == 403:
            return IntegrationError("PERMISSION_DENIED", f"{what}: forbidden (403)")
        if status == 404:
            return IntegrationError("RESOURCE_NOT_FOUND", f"{what}: not found (404)")
        if status == 429:
            after = _retry_after(response.headers.get("retry-after"))
            return IntegrationError(
                "RATE_LIMITED", f"{what}: rate limited (429)", retry_after=after
            )
        return IntegrationError("PROVIDER_ERROR", f"{what}: answered {status}")
    if isinstance(error, httpx.TimeoutException):
        return IntegrationError("TIMEOUT", f"{what}: timed out")
    if isinstance(error, httpx.ConnectError):
        return IntegrationError(
            "CONNECTION_REFUSED", f"{what}: cannot connect ({_first_line(error)})"
        )
    if isinstance(error, httpx.HTTPError):
        return IntegrationError("PROVIDER_ERROR", f"{what}: {type(error).__name__}")
    return IntegrationError("PROVIDER_ERROR", f"{what}: {type(error).__name__}")


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
