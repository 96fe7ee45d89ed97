"""GitHub authentication: a plain token, or a GitHub App's JWT and cached installation tokens."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import jwt

from providers.errors import ProviderError
from providers.mask import Mask
from providers.vocabulary import TokenScope

__all__ = [
    "JWT_BACKDATE_SECONDS",
    "JWT_LIFETIME_SECONDS",
    "REFRESH_MARGIN_SECONDS",
    "Credentials",
    "GitHubApp",
    "InstallationAuth",
    "TokenAuth",
    "TokenRequest",
    "forget_shared_apps",
    "pem_text",
    "shared_app",
]

# GitHub: "set iat 60 seconds in the past" (clock drift) and "exp no more than 10 minutes into
# the future". exp - iat is 600 s, so exp is 9 minutes ahead of our clock.
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 600
# Installation tokens live one hour; use a new one once the old has less than this left, so a
# request (and its retries) never starts with a token about to expire.
REFRESH_MARGIN_SECONDS = 300.0
_DEFAULT_TOKEN_LIFETIME = 3600.0


class TokenRequest(Protocol):
    """(path, jwt[, body]) -> the JSON answer of POST {path} made with `Authorization: Bearer
    <jwt>`; without a body (an unscoped token) the request has none."""

    def __call__(
        self, path: str, app_jwt: str, body: Mapping[str, Any] | None = None, /
    ) -> Awaitable[Mapping[str, Any]]: ...


class Credentials(Protocol):
    """What the client needs from an authentication method."""

    @property
    def is_app(self) -> bool: ...

    async def authorization(self, request_token: TokenRequest) -> str:
        """The value of the Authorization header for the next API call."""
        ...

    def forget(self) -> None:
        """Drop a cached token the host refused (401), so the next call gets a new one."""
        ...

    def teach(self, mask: Mask) -> None:
        """Have `mask` hide every secret these credentials hold, and each one they mint later."""
        ...

    async def app_jwt(self) -> str | None:
        """The App's own JWT, for the calls only the App may make (`GET /app`); None for a
        plain token."""
        ...


class TokenAuth:
    """A personal access token (or any token): sent as `Authorization: Bearer <token>`."""

    is_app = False

    def __init__(self, token: str) -> None:
        self._token = token

    async def authorization(self, request_token: TokenRequest) -> str:
        return f"Bearer {self._token}"

    def forget(self) -> None:
        """A plain token cannot be renewed; nothing to drop."""

    def teach(self, mask: Mask) -> None:
        mask.add(self._token)

    async def app_jwt(self) -> str | None:
        return None

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"


@dataclass(frozen=True)
class _InstallationToken:
    token: str = field(repr=False)
    expires_at: float  # epoch seconds


# A cached token's key: the installation, and the scope it was minted for (None: unscoped).
_TokenKey = tuple[int, TokenScope | None]


class GitHubApp:
    """One GitHub App: signs JWTs and keeps one installation token per installation and scope.

    `private_key` is the PEM text (see `pem_text`); reading a key file is the caller's job.
    """

    def __init__(
        self,
        app_id: int,
        private_key: str,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self.app_id = app_id
        self._key = pem_text(private_key)
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._tokens: dict[_TokenKey, _InstallationToken] = {}
        self._locks: dict[_TokenKey, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}

    def __repr__(self) -> str:
        return f"GitHubApp(app_id={self.app_id}, private_key=***)"

    async def jwt(self) -> str:
        """A fresh RS256 JWT for the App: iat 60 s in the past, exp 9 min ahead, iss = app id."""
        now = int(self._clock())
        issued_at = now - JWT_BACKDATE_SECONDS
        claims = {
            "iat": issued_at,
            "exp": issued_at + JWT_LIFETIME_SECONDS,
            "iss": str(self.app_id),
        }
        return jwt.encode(claims, self._key, algorithm="RS256")

    async def installation_token(
        self,
        installation_id: int,
        request_token: TokenRequest,
        scope: TokenScope | None = None,
    ) -> str:
        """The installation's token for `scope`: the cached one while fresh, else one fetch
        for all callers. A scope that narrows nothing is the unscoped token."""
        key = _token_key(installation_id, scope)
        if (cached := self._fresh_token(key)) is not None:
            return cached
        async with self._lock(key):
            # Whoever held the lock before us may have fetched it already.
            if (cached := self._fresh_token(key)) is not None:
                return cached
            path = f"/app/installations/{installation_id}/access_tokens"
            body = _token_request_body(key[1])
            app_jwt = await self.jwt()
            answer = await (
                request_token(path, app_jwt, body) if body else request_token(path, app_jwt)
            )
            token = _installation_token(
                answer, default_expiry=self._clock() + _DEFAULT_TOKEN_LIFETIME
            )
            if token is None:
                raise ProviderError("GitHub", "POST", path, detail="the answer carries no token")
            self._tokens[key] = token
            return token.token

    def forget(self, installation_id: int, scope: TokenScope | None = None) -> None:
        self._tokens.pop(_token_key(installation_id, scope), None)

    def teach(self, mask: Mask) -> None:
        """Have `mask` hide the private key (each of its lines too)."""
        mask.add(self._key)

    def _fresh_token(self, key: _TokenKey) -> str | None:
        token = self._tokens.get(key)
        if token is None or self._clock() >= token.expires_at - self._refresh_margin:
            return None
        return token.token

    def _lock(self, key: _TokenKey) -> asyncio.Lock:
        # An asyncio.Lock belongs to the loop that first waits on it; a process-wide App can
        # outlive a loop (tests, `asyncio.run` per CLI command), so keep one lock per loop.
        loop = asyncio.get_running_loop()
        held = self._locks.get(key)
        if held is None or held[0] is not loop:
            held = (loop, asyncio.Lock())
            self._locks[key] = held
        return held[1]


class InstallationAuth:
    """An App acting as one installation: `Authorization: Bearer <installation token>`.

    With a `scope`, the tokens reach only its repositories, with only its permissions.
    Every mask it was taught with learns each installation token before the token is used.
    """

    is_app = True

    def __init__(
        self, app: GitHubApp, installation_id: int, scope: TokenScope | None = None
    ) -> None:
        self.app = app
        self.installation_id = installation_id
        self.scope = scope
        self._masks: list[Mask] = []
        self._taught: str | None = None

    async def authorization(self, request_token: TokenRequest) -> str:
        token = await self.app.installation_token(
            self.installation_id, request_token, scope=self.scope
        )
        if token != self._taught:
            for mask in self._masks:
                mask.add(token)  # a fresh token: learnt here, before it goes anywhere
                if self._taught is not None:
                    mask.forget(self._taught)  # the one it replaces is minutes from expiry
            self._taught = token
        return f"Bearer {token}"

    def forget(self) -> None:
        self.app.forget(self.installation_id, self.scope)

    def teach(self, mask: Mask) -> None:
        self.app.teach(mask)
        if all(known is not mask for known in self._masks):
            self._masks.append(mask)

    async def app_jwt(self) -> str | None:
        return await self.app.jwt()

    def __repr__(self) -> str:
        scope = f", scope={self.scope!r}" if self.scope is not None and self.scope.narrows else ""
        return (
            f"InstallationAuth(app_id={self.app.app_id}, "
            f"installation_id={self.installation_id}{scope})"
        )


_SHARED_APPS: dict[tuple[str, int, str], GitHubApp] = {}


def shared_app(api_url: str, app_id: int, private_key: str) -> GitHubApp:
    """The process-wide App for these settings, so installation tokens outlive one client.

    Workers build a client per job; without this every job would mint a new token.
    """
    digest = hashlib.sha256(pem_text(private_key).encode()).hexdigest()
    key = (api_url.rstrip("/"), app_id, digest)
    if key not in _SHARED_APPS:
        _SHARED_APPS[key] = GitHubApp(app_id, private_key)
    return _SHARED_APPS[key]


def forget_shared_apps() -> None:
    """Drop every cached App and its tokens (tests; after rotating the App's key)."""
    _SHARED_APPS.clear()


def _token_key(installation_id: int, scope: TokenScope | None) -> _TokenKey:
    return (installation_id, scope if scope is not None and scope.narrows else None)


def _token_request_body(scope: TokenScope | None) -> dict[str, Any]:
    """The access-token request's body: only what the scope names (nothing if unscoped)."""
    body: dict[str, Any] = {}
    if scope is not None and scope.repositories:
        body["repositories"] = list(scope.repositories)
    if scope is not None and scope.permissions:
        body["permissions"] = dict(scope.permissions)
    return body


def _installation_token(
    answer: Mapping[str, Any], *, default_expiry: float
) -> _InstallationToken | None:
    token = answer.get("token")
    if not isinstance(token, str) or not token:
        return None
    expires_at = answer.get("expires_at")
    # "expires_at": "2016-07-11T22:14:10Z" (fromisoformat reads the Z from Python 3.11 on).
    expiry = datetime.fromisoformat(expires_at).timestamp() if expires_at else default_expiry
    return _InstallationToken(token=token, expires_at=expiry)


def pem_text(private_key: str) -> str:
    """The PEM text of a private key as configured, or ValueError if it is not PEM.

    Environment variables often carry the PEM with literal "\\n" for its line breaks: those
    become real ones. The message never quotes the key.
    """
    text = private_key.strip()
    if not text.startswith("-----BEGIN"):
        raise ValueError(
            "the GitHub App private key is not PEM text (-----BEGIN ... PRIVATE KEY-----); "
            "give the key itself, not a path to its file"
        )
    return text.replace("\\n", "\n") if "\n" not in text else text
