"""One error taxonomy for every Git host. Messages name host, method and path, never a token."""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime


class ProviderError(Exception):
    """A call to a Git host failed."""

    retryable = False

    def __init__(
        self, host: str, method: str, path: str, status: int | None = None, detail: str = ""
    ) -> None:
        self.host, self.method, self.path, self.status, self.detail = (
            host,
            method,
            path,
            status,
            detail,
        )
        where = f"{host}: {method} {path}"
        code = f" answered {status}" if status is not None else ""
        super().__init__(f"{where}{code}{': ' + detail if detail else ''}")


class NotConfigured(ProviderError):
    """The provider has no credentials configured. Said as the settings to set, not as a
    request: no request was made."""

    def __init__(
        self, host: str, method: str, path: str, status: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(host, method, path, status, detail)
        said = detail or f"{host} is not configured"
        self.args = (f"{said} (needed for {method})" if method else said,)


class AuthenticationFailed(ProviderError):
    """401: the token or key is wrong or expired."""


class Forbidden(ProviderError):
    """403: authenticated, but not allowed."""


class NotFound(ProviderError):
    """404 (hosts also answer 404 for private things the token cannot see)."""


class ValidationFailed(ProviderError):
    """422 (or 400): the host refused what was sent."""


class RateLimited(ProviderError):
    """429, or 403 with the rate-limit headers. `retry_at` is when to try again (epoch s)."""

    retryable = True

    def __init__(
        self,
        host: str,
        method: str,
        path: str,
        status: int | None = None,
        detail: str = "",
        *,
        retry_at: float,
    ) -> None:
        super().__init__(host, method, path, status, detail)
        self.retry_at = retry_at


class ServerError(ProviderError):
    """5xx: the host failed."""

    retryable = True


class TransportError(ProviderError):
    """No answer: timeout, refused connection, broken TLS."""

    retryable = True


class Unsupported(ProviderError):
    """The host has no such operation and no fallback makes sense."""


_BY_STATUS: dict[int, type[ProviderError]] = {
    400: ValidationFailed,
    401: AuthenticationFailed,
    403: Forbidden,
    404: NotFound,
    409: ValidationFailed,
    410: NotFound,
    422: ValidationFailed,
}


def error_for_response(
    host: str,
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    detail: str = "",
    *,
    now: float | None = None,
) -> ProviderError:
    """The taxonomy's error for an HTTP error answer (`headers` with lower-case names)."""
    now = time.time() if now is None else now
    retry_at = rate_limit_reset(status, headers, now)
    if retry_at is not None:
        return RateLimited(host, method, path, status, detail, retry_at=retry_at)
    if status >= 500:
        return ServerError(host, method, path, status, detail)
    return _BY_STATUS.get(status, ProviderError)(host, method, path, status, detail)


def rate_limit_reset(status: int, headers: Mapping[str, str], now: float) -> float | None:
    """When a rate-limited answer says to retry (epoch seconds), or None if it is not one.

    429 always is; 403 is when `x-ratelimit-remaining: 0` or `retry-after` says so (GitHub's
    primary and secondary limits). `Retry-After` wins, then `x-ratelimit-reset` /
    `ratelimit-reset` (epoch seconds), else one minute.
    """
    limited = status == 429 or (
        status == 403
        and (
            headers.get("x-ratelimit-remaining") == "0"
            or headers.get("ratelimit-remaining") == "0"
            or "retry-after" in headers
        )
    )
    if not limited:
        return None
    if (after := _retry_after(headers.get("retry-after"), now)) is not None:
        return after
    for name in ("x-ratelimit-reset", "ratelimit-reset"):
        value = headers.get(name, "")
        if value.isdigit():
            return float(value)
    return now + 60.0


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return now + float(value)
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
