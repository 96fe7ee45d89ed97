"""The `prometheus` metrics provider: Prometheus's HTTP API (and what speaks it: Thanos,
Mimir, VictoriaMetrics), for instant queries in canary analysis.

Config: `endpoint` (the server's URL, with its path prefix if it has one), `auth` (`bearer`,
the default, or `basic`: how the integration's credential is sent — a token, or
`user:password`), `headers` (more request headers, e.g. `X-Scope-OrgID`, each value a
reference). Checks: connectivity `GET /-/healthy` (or `/api/v1/status/buildinfo`), without
credentials; authentication `GET /api/v1/status/buildinfo` with them; functionality the query
`vector(1)`. Discovers `metrics`: the metric names (`/api/v1/label/__name__/values`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, field_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource, http_error
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.metrics.prometheus_api import (
    read_answer,
    read_build,
    read_names,
    read_samples,
)
from app.integrations.metrics.source import Sample
from app.integrations.spec import ProviderSpec

__all__ = ["PROVIDER", "PrometheusConfig", "PrometheusConnector", "connect"]

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HTTP_ERRORS = (401, 403, 404, 429)  # answered by a proxy or the web config, not the API


class PrometheusConfig(ProviderConfig):
    references: ClassVar[frozenset[str]] = frozenset({"headers"})

    endpoint: str  # required here
    auth: Literal["bearer", "basic"] = "bearer"
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _header_names(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an HTTP header name")
            if name.lower() == "authorization":
                raise ValueError(
                    "Authorization comes from the integration's credential (--credential, "
                    "with auth: bearer or basic), not from headers"
                )
        return headers


class PrometheusConnector:
    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        config = context.config
        assert isinstance(config, PrometheusConfig)
        self.config = config

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            return await self._reachable()
        if level == "authentication":
            return await self._signed_in()
        samples = await self.query("vector(1)")
        if [sample.value for sample in samples] != [1.0]:
            got = ", ".join(f"{sample.value:g}" for sample in samples) or "nothing"
            raise IntegrationError("PROVIDER_ERROR", f"the query vector(1) answered {got}")
        return "the query vector(1) answered 1"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        if resource_type != "metrics":
            raise IntegrationError(
                "UNSUPPORTED", f"prometheus discovers metrics, not {resource_type}"
            )
        params = {"match[]": scope["match"]} if scope.get("match") else None
        path = "/api/v1/label/__name__/values"
        names = read_names(await self._api(path, params), f"GET {path}")
        return [Resource("metrics", name) for name in names]

    async def query(self, promql: str, at: float | None = None) -> list[Sample]:
        """An instant query (`GET /api/v1/query`) at `at` (Unix seconds; the server's now
        when None)."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        path = "/api/v1/query"
        return read_samples(await self._api(path, params), f"GET {path}")

    # --- the network boundary ---------------------------------------------------------------

    async def _reachable(self) -> str:
        """Any answer of the server's own but a 404 or a 5xx: asking for credentials is
        reachable too. Without `/-/healthy` (a proxy passing the API only), the build info."""
        for path in ("/-/healthy", "/api/v1/status/buildinfo"):
            response = await self._get(path, None, authenticated=False)
            status = response.status_code
            if status == 404:
                continue
            if status >= 500:
                raise http_error(_status_error(response), f"GET {path}")
            if status in (401, 403):
                return f"reachable; it asks for credentials ({status})"
            return f"reachable ({path} answered {status})"
        raise IntegrationError(
            "RESOURCE_NOT_FOUND",
            "neither /-/healthy nor /api/v1/status/buildinfo is there: is the endpoint a "
            "Prometheus server's URL (with its path prefix)?",
        )

    async def _signed_in(self) -> str:
        path = "/api/v1/status/buildinfo"
        try:
            version = read_build(await self._api(path, None))
        except IntegrationError as error:
            if error.code != "RESOURCE_NOT_FOUND":
                raise
            await self.query("vector(1)")  # servers without build info (some proxies)
            return "signed in (the server gives no build info)"
        return f"signed in; Prometheus {version}" if version else "signed in"

    async def _api(self, path: str, params: Mapping[str, str] | None) -> Any:
        """GET an API path with the credential; its `data`, or IntegrationError."""
        response = await self._get(path, params, authenticated=True)
        if response.status_code in _HTTP_ERRORS:
            raise http_error(_status_error(response), f"GET {path}")
        return read_answer(response.status_code, response.content, f"GET {path}")

    async def _get(
        self, path: str, params: Mapping[str, str] | None, *, authenticated: bool
    ) -> httpx.Response:
        headers = await self._headers() if authenticated else {}
        url = self.context.endpoint() + path
        try:
            return await self.context.http.get(
                url, params=params, headers=headers, timeout=self.config.timeout
            )
        except httpx.HTTPError as error:
            raise http_error(error, f"GET {path}") from None

    async def _headers(self) -> dict[str, str]:
        """The configured headers' values and the credential, resolved now."""
        headers = {"accept": "application/json"}
        for name, reference in self.config.headers.items():
            headers[name] = await self.context.resolve(reference)
        credential = await self.context.credential()
        if credential is not None:
            headers["authorization"] = _authorization(self.config.auth, credential)
        return headers


def _authorization(auth: str, credential: str) -> str:
    if auth == "basic":
        user, colon, password = credential.partition(":")
        if not colon:
            raise IntegrationError(
                "INVALID_CONFIG", "auth: basic needs a credential of the form user:password"
            )
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return f"Basic {token}"
    return f"Bearer {credential}"


def _status_error(response: httpx.Response) -> httpx.HTTPStatusError:
    return httpx.HTTPStatusError(
        f"answered {response.status_code}", request=response.request, response=response
    )


def connect(context: ConnectorContext) -> PrometheusConnector:
    return PrometheusConnector(context)


PROVIDER = ProviderSpec(
    name="prometheus",
    type="metrics",
    title="Prometheus (HTTP API)",
    config=PrometheusConfig,
    connect=connect,
    resource_types=("metrics",),
)
