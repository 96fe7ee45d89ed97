"""The hub's errors: a code from one taxonomy, what to do about it, and a message that names the
integration (and a reference, where one failed) but never a credential."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CODES", "Code", "IntegrationError", "Retry", "retry_of", "trips_breaker"]

Code = Literal[
    "INTEGRATION_NOT_FOUND",
    "INTEGRATION_UNHEALTHY",
    "INVALID_CONFIG",
    "CREDENTIAL_FETCH_FAILED",
    "CONNECTION_REFUSED",
    "TIMEOUT",
    "AUTHENTICATION_FAILED",
    "PERMISSION_DENIED",
    "RESOURCE_NOT_FOUND",
    "RATE_LIMITED",
    "PROVIDER_ERROR",
    "UNSUPPORTED",
]

Retry = Literal["none", "backoff", "after_delay"]


@dataclass(frozen=True)
class _Rule:
    retry: Retry
    trips: bool  # counts as a failure of the integration (its breaker), not of the request


CODES: dict[Code, _Rule] = {
    "INTEGRATION_NOT_FOUND": _Rule("none", trips=False),
    "INTEGRATION_UNHEALTHY": _Rule("after_delay", trips=False),  # the breaker is open
    "INVALID_CONFIG": _Rule("none", trips=False),
    "CREDENTIAL_FETCH_FAILED": _Rule("backoff", trips=True),
    "CONNECTION_REFUSED": _Rule("backoff", trips=True),
    "TIMEOUT": _Rule("backoff", trips=True),
    "AUTHENTICATION_FAILED": _Rule("none", trips=True),
    "PERMISSION_DENIED": _Rule("none", trips=False),
    "RESOURCE_NOT_FOUND": _Rule("none", trips=False),
    "RATE_LIMITED": _Rule("after_delay", trips=False),
    "PROVIDER_ERROR": _Rule("backoff", trips=True),  # a 5xx, an answer that makes no sense
    "UNSUPPORTED": _Rule("none", trips=False),
}


def retry_of(code: Code) -> Retry:
    return CODES[code].retry


def trips_breaker(code: Code) -> bool:
    return CODES[code].trips


class IntegrationError(Exception):
    """A call to an integration failed. `retry_after` (seconds) is set for RATE_LIMITED and
    INTEGRATION_UNHEALTHY: when trying again may help."""

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        integration: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code: Code = code
        self.integration = integration
        self.retry_after = retry_after
        self.detail = message
        where = f"integration {integration}: " if integration else ""
        super().__init__(f"{code}: {where}{message}")

    @property
    def retry(self) -> Retry:
        return retry_of(self.code)

    @property
    def trips(self) -> bool:
        """Whether it counts against the integration's breaker."""
        return trips_breaker(self.code)

    def about(self, integration: str) -> IntegrationError:
        """The same error, naming `integration` (connectors raise without knowing their name)."""
        if self.integration is not None:
            return self
        return IntegrationError(
            self.code, self.detail, integration=integration, retry_after=self.retry_after
        )
