"""The server's `CiSystems` (what `trigger_ci`, `wait_ci` and the workflow deploy executor use):
builds started and read through the hub, the integration's breaker and all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.integrations.ci.base import CiConnector, ci_connector
from app.integrations.connector import Connector
from app.integrations.errors import IntegrationError
from app.integrations.hub import Hub
from steps.integrations import CiRun, CiTrigger, IntegrationFailed

__all__ = ["HubCi"]

T = TypeVar("T")

UNTRUSTED = (
    "this run's code is not trusted (a pull request from a fork, or by someone below the "
    "repository's pull_requests.min_role): it may not start builds"
)


class HubCi:
    """Start and read builds on `ci` integrations by name. A trigger is tried once (a
    retried POST could start two builds); reads are retried as the integration's config says.
    With `may_trigger` false (an untrusted run), reads work and triggers are refused.
    `for_repository` (provider, repository): a repository's config names the integrations,
    and each must be granted to it (a deploy target's, the server's own, need not)."""

    def __init__(
        self,
        hub: Hub,
        *,
        may_trigger: bool = True,
        for_repository: tuple[str, str] | None = None,
    ) -> None:
        self._hub = hub
        self._may_trigger = may_trigger
        self._for_repository = for_repository

    async def trigger(self, integration: str, request: CiTrigger) -> CiRun:
        if not self._may_trigger:
            refused = IntegrationError("PERMISSION_DENIED", UNTRUSTED, integration=integration)
            raise IntegrationFailed(refused.code, str(refused))
        return await self._call(integration, lambda ci: ci.trigger(request), retries=0)

    async def read(self, integration: str, run_id: str) -> CiRun:
        return await self._call(integration, lambda ci: ci.read(run_id))

    async def check(self, integration: str) -> str:
        """Test the integration as `shipyard integrations test` does (the result is stored);
        IntegrationFailed naming the first check that failed."""
        try:
            found = await self._hub.integration(integration)
            if found.type != "ci":
                raise IntegrationError(
                    "INVALID_CONFIG",
                    f"is a {found.type} integration ({found.provider}), not a ci one",
                    integration=found.name,
                )
            report = await self._hub.test(found)
        except IntegrationError as error:
            raise IntegrationFailed(error.code, str(error)) from None
        for result in report.results:
            if not result.ok:
                raise IntegrationFailed(
                    result.code or "PROVIDER_ERROR",
                    f"integration {integration}: {result.level}: {result.message}",
                )
        return f"integration {integration} ({found.provider}) is {report.health}"

    async def _call(
        self,
        integration: str,
        use: Callable[[CiConnector], Awaitable[T]],
        *,
        retries: int | None = None,
    ) -> T:
        async def call(connector: Connector) -> T:
            return await use(ci_connector(connector))

        try:
            return await self._hub.call(
                integration, call, type="ci", retries=retries, for_repository=self._for_repository
            )
        except IntegrationError as error:
            raise IntegrationFailed(error.code, str(error)) from None
