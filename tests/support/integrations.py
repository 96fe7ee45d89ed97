"""A test-only integration provider and the small service it talks to.

`test-service` (a `registry`, `test_only`) checks and discovers over HTTP against `FakeService`,
a real uvicorn on loopback that wants `Authorization: Bearer <token>` and records each request.
`use_test_provider` puts the provider into the catalogue the app's hub and the CLI read: call
it before the app (or the command) starts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.integrations.catalogue import catalogue as built_catalogue
from app.integrations.connector import ConnectorContext, ProviderConfig, Resource, http_error
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.spec import ProviderSpec
from tests.support.http import free_port, serving

__all__ = [
    "TEST_PROVIDER",
    "FakeService",
    "Seen",
    "ServiceConfig",
    "fake_service",
    "nothing_listening",
    "use_test_provider",
    "with_test_provider",
]

TOKEN_VARIABLE = "TEST_SERVICE_TOKEN"


class ServiceConfig(ProviderConfig):
    """The endpoint, and a header whose value is a credential (so a reference)."""

    references: ClassVar[frozenset[str]] = frozenset({"hook"})

    hook: str | None = None


class ServiceConnector:
    """Connectivity: GET /ping. Authentication: GET /whoami with the bearer token.
    Functionality and discovery: GET /repositories and /repositories/{name}/tags."""

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    async def _get(self, path: str, what: str, *, signed: bool = True) -> httpx.Response:
        headers = {}
        if signed:
            token = await self.context.require_credential("the service's token")
            headers["Authorization"] = f"Bearer {token}"
        try:
            answer = await self.context.http.get(
                self.context.endpoint() + path,
                headers=headers,
                timeout=self.context.config.timeout,
            )
            answer.raise_for_status()
        except httpx.HTTPError as error:
            raise http_error(error, what) from None
        return answer

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            await self._get("/ping", "ping", signed=False)
            return "reachable"
        if level == "authentication":
            who = (await self._get("/whoami", "who am I")).json()
            return f"signed in as {who['login']}"
        found = (await self._get("/repositories", "list repositories")).json()
        return f"{len(found)} repositories"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        if resource_type == "repositories":
            names = (await self._get("/repositories", "list repositories")).json()
            return [Resource("repositories", name) for name in names]
        repository = scope.get("repository")
        if not repository:
            raise IntegrationError("INVALID_CONFIG", "tags: name the repository (filter)")
        tags = (await self._get(f"/repositories/{repository}/tags", "list tags")).json()
        return [Resource("tags", tag, details={"repository": repository}) for tag in tags]


TEST_PROVIDER = ProviderSpec(
    "test-service",
    "registry",
    "A service tests talk to",
    config=ServiceConfig,
    connect=ServiceConnector,
    resource_types=("repositories", "tags"),
    test_only=True,
)


def with_test_provider() -> dict[str, ProviderSpec]:
    """Every provider, and the test-only one."""
    return {**built_catalogue(), TEST_PROVIDER.name: TEST_PROVIDER}


def use_test_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test provider in the catalogue the hub is built with (`app.wiring`) and the one the
    CLI reads (`app.integrations.catalogue`)."""
    monkeypatch.setattr("app.wiring.catalogue", with_test_provider)
    monkeypatch.setattr("app.integrations.catalogue.catalogue", with_test_provider)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorization: str | None


@dataclass
class FakeService:
    """What the service holds and answers: its token, repositories and their tags; every
    request it got."""

    token: str
    repositories: dict[str, list[str]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    rate_limited_for: int | None = None  # seconds: answer 429 with Retry-After meanwhile

    def _signed(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _handle(self, request: Request) -> Response:
        path = request.url.path
        self.seen.append(Seen(request.method, path, request.headers.get("authorization")))
        if path == "/ping":
            return JSONResponse({"ok": True})
        if self.rate_limited_for is not None:
            headers = {"Retry-After": str(self.rate_limited_for)}
            return JSONResponse({"error": "slow down"}, 429, headers)
        if not self._signed(request):
            return JSONResponse({"error": "bad token"}, 401)
        if path == "/whoami":
            return JSONResponse({"login": "shipyard-bot"})
        if path == "/repositories":
            return JSONResponse(sorted(self.repositories))
        name = path.removeprefix("/repositories/").removesuffix("/tags")
        if path.endswith("/tags") and name in self.repositories:
            return JSONResponse(self.repositories[name])
        return JSONResponse({"error": "not found"}, 404)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET"])])


@contextlib.asynccontextmanager
async def fake_service(
    token: str, repositories: Mapping[str, list[str]] | None = None
) -> AsyncIterator[FakeService]:
    service = FakeService(token, dict(repositories or {}))
    async with serving(service.app()) as url:
        service.url = url
        yield service


def nothing_listening() -> str:
    """A loopback URL where nothing listens: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}"
