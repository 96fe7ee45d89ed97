"""HashiCorp Vault and OpenBao (the same API) as a `secrets` integration, through hvac.

A key of a KV secret (version 2 or 1) on one mount, signed in with a token or with AppRole
(`role_id` in the config, the secret_id as the credential reference), optionally in a namespace.
hvac is synchronous: each call runs in a thread, on the one hvac.Client this connector keeps.
An AppRole token is renewed by logging in again shortly before it expires; a refused token
(403, which Vault also answers for a token it does not know) is checked with lookup-self, and
only a token that is no longer valid is replaced and the call tried once more.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, Self, TypeVar, cast

import hvac
import requests
from hvac import exceptions as hvac_errors
from pydantic import Field, field_validator, model_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.spec import ProviderSpec

__all__ = ["PROVIDER", "VaultConfig", "VaultConnector", "connect", "vault_error"]

T = TypeVar("T")
Op = Callable[[hvac.Client], T]

_MOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")
_NAMESPACE = _MOUNT
# An AppRole token is replaced when this share of its lease has passed.
_RENEW_AT = 0.8


class VaultConfig(ProviderConfig):
    """`endpoint` is the server's address (https://vault.example.com:8200); `mount` the KV
    secrets engine's path; the credential is the token (auth: token) or the AppRole secret_id
    (auth: approle, with `role_id`)."""

    endpoint: str
    mount: str = "secret"
    kv_version: Literal[1, 2] = 2
    auth: Literal["token", "approle"] = "token"
    role_id: str | None = Field(None, min_length=1, max_length=200)
    approle_mount: str = "approle"
    namespace: str | None = None
    verify_tls: bool = True

    @field_validator("mount", "approle_mount")
    @classmethod
    def _a_mount(cls, value: str) -> str:
        value = value.strip("/")
        if not _MOUNT.fullmatch(value):
            raise ValueError(f"{value!r} is not a mount path (as in secret or kv/team-a)")
        return value

    @field_validator("namespace")
    @classmethod
    def _a_namespace(cls, value: str | None) -> str | None:
        if value is None or not value.strip("/"):
            return None
        value = value.strip("/")
        if not _NAMESPACE.fullmatch(value):
            raise ValueError(f"{value!r} is not a namespace path (as in team-a or org/team-a)")
        return value

    @model_validator(mode="after")
    def _approle_has_a_role(self) -> Self:
        if self.auth == "approle" and not self.role_id:
            raise ValueError("auth approle needs role_id (the AppRole's role_id, not a secret)")
        return self


def _reason(error: Exception, *, hide: Iterable[str] = ()) -> str:
    """What Vault said, in its own words ("permission denied", "Vault is sealed"), without the
    request's URL (which hvac appends) and with any of `hide` blanked."""
    said = error.args[0] if error.args else None
    lines = [line.strip(" \t*") for line in str(said or "").splitlines()]
    lines = [line for line in lines if line and not line.endswith("error occurred:")]
    reason = (lines[0] if lines else type(error).__name__)[:200]
    for secret in hide:
        if secret:
            reason = reason.replace(secret, "***")
    return reason


def vault_error(error: Exception, what: str, *, hide: Iterable[str] = ()) -> IntegrationError:
    """An hvac or requests failure as the hub's error, naming `what` was asked; any of `hide`
    (the credentials in use) is blanked from what the server said."""
    reason = _reason(error, hide=hide)
    if isinstance(error, hvac_errors.InvalidPath):
        return IntegrationError("RESOURCE_NOT_FOUND", f"{what}: not found")
    if isinstance(error, hvac_errors.Unauthorized):
        return IntegrationError("AUTHENTICATION_FAILED", f"{what}: the credential was refused")
    if isinstance(error, hvac_errors.Forbidden):
        said = "" if reason.lower() == "permission denied" else f" ({reason})"
        return IntegrationError("PERMISSION_DENIED", f"{what}: permission denied{said}")
    if isinstance(error, hvac_errors.RateLimitExceeded):
        return IntegrationError("RATE_LIMITED", f"{what}: rate limited (429)", retry_after=1.0)
    if isinstance(error, hvac_errors.VaultDown):
        if "sealed" in reason.lower():
            return IntegrationError(
                "CONNECTION_REFUSED", f"{what}: the server is sealed (unseal it to serve secrets)"
            )
        return IntegrationError("CONNECTION_REFUSED", f"{what}: unavailable (503: {reason})")
    if isinstance(error, hvac_errors.VaultNotInitialized):
        return IntegrationError("CONNECTION_REFUSED", f"{what}: the server is not initialised")
    if isinstance(error, hvac_errors.InvalidRequest):
        return IntegrationError("INVALID_CONFIG", f"{what}: refused as invalid (400: {reason})")
    if isinstance(error, hvac_errors.VaultError):
        return IntegrationError("PROVIDER_ERROR", f"{what}: {type(error).__name__} ({reason})")
    if isinstance(error, requests.exceptions.Timeout):
        return IntegrationError("TIMEOUT", f"{what}: timed out")
    if isinstance(error, requests.exceptions.SSLError):
        return IntegrationError(
            "CONNECTION_REFUSED",
            f"{what}: the TLS handshake failed (a certificate this machine does not trust? "
            "verify_tls: false turns the check off)",
        )
    if isinstance(error, requests.exceptions.ConnectionError):
        return IntegrationError("CONNECTION_REFUSED", f"{what}: cannot connect")
    if isinstance(error, requests.exceptions.RequestException | ValueError):
        return IntegrationError("PROVIDER_ERROR", f"{what}: {type(error).__name__}")
    return IntegrationError("PROVIDER_ERROR", f"{what}: {type(error).__name__}")


_FAILURES = (hvac_errors.VaultError, requests.exceptions.RequestException, ValueError)
_REFUSED = (hvac_errors.Forbidden, hvac_errors.Unauthorized)


def _value(data: Mapping[str, Any], key: str, path: str) -> str:
    """The key's value as text (a structured value as JSON), or RESOURCE_NOT_FOUND."""
    if key not in data:
        raise IntegrationError("RESOURCE_NOT_FOUND", f"no key {key} in {path}")
    value = data[key]
    if value is None:
        raise IntegrationError("RESOURCE_NOT_FOUND", f"key {key} in {path} is empty")
    return value if isinstance(value, str) else json.dumps(value)


def _keys(answer: Any) -> list[str]:
    keys = (answer or {}).get("data", {}).get("keys", []) if isinstance(answer, dict) else []
    return [str(key) for key in keys]


class VaultConnector:
    """One integration's hvac.Client, signed in when first used and again when its token
    expires or is refused."""

    def __init__(
        self, context: ConnectorContext, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._context = context
        self._config = cast(VaultConfig, context.config)
        self._clock = clock
        self._client = hvac.Client(
            url=self._config.endpoint,
            token="",  # never VAULT_TOKEN or ~/.vault-token, which hvac would read otherwise
            verify=self._config.verify_tls,
            timeout=math.ceil(self._config.timeout),
            namespace=self._config.namespace,
        )
        self._signed_in = False
        self._renew_at: float | None = None  # when to log in again (AppRole), by `clock`
        self._credential = ""  # to blank it from what the server says
        self._lock = asyncio.Lock()

    @property
    def config(self) -> VaultConfig:
        return self._config

    # --- signing in -----------------------------------------------------------------------

    async def _thread(self, op: Op[T]) -> T:
        return await asyncio.to_thread(op, self._client)

    def _hidden(self) -> tuple[str, ...]:
        return (self._credential, self._client.token or "")

    def _failure(self, error: Exception, what: str) -> IntegrationError:
        return vault_error(error, what, hide=self._hidden())

    async def sign_in(self) -> str:
        """Sign in now (a token: check it; AppRole: log in); what it found, for `check`."""
        async with self._lock:
            return await self._sign_in()

    async def _sign_in(self) -> str:
        if self._config.auth == "approle":
            secret_id = await self._context.require_credential("the AppRole secret_id")
            self._credential = secret_id
            role_id, mount = self._config.role_id, self._config.approle_mount
            self._client.token = ""  # a login carries no old token
            try:
                answer = await self._thread(
                    lambda c: c.auth.approle.login(
                        role_id, secret_id, use_token=True, mount_point=mount
                    )
                )
            except (hvac_errors.InvalidRequest, *_REFUSED) as error:
                said = _reason(error, hide=self._hidden())
                raise IntegrationError(
                    "AUTHENTICATION_FAILED", f"AppRole login at auth/{mount} refused ({said})"
                ) from None
            except _FAILURES as error:
                raise self._failure(error, f"AppRole login at auth/{mount}") from None
            lease = float((answer.get("auth") or {}).get("lease_duration") or 0)
            self._renew_at = self._clock() + lease * _RENEW_AT if lease > 0 else None
            self._signed_in = True
            expiry = f"; its token lasts {lease:.0f}s" if lease > 0 else ""
            return f"AppRole login as role_id {role_id} succeeded{expiry}"
        token = await self._context.require_credential("a Vault token")
        self._credential = token
        self._client.token = token
        try:
            answer = await self._thread(lambda c: c.auth.token.lookup_self())
        except _REFUSED as error:
            said = _reason(error, hide=self._hidden())
            raise IntegrationError(
                "AUTHENTICATION_FAILED",
                f"the token was refused ({said}): expired, revoked or not this server's",
            ) from None
        except _FAILURES as error:
            raise self._failure(error, "token lookup-self") from None
        data = answer.get("data") or {}
        self._signed_in = True
        self._renew_at = None  # a token is the operator's to renew; a refusal is noticed
        policies = ", ".join(str(p) for p in data.get("policies") or []) or "none"
        ttl = int(data.get("ttl") or 0)
        lasts = f"; it expires in {ttl}s" if ttl > 0 else "; it does not expire"
        return f"token accepted (policies: {policies}{lasts})"

    async def _ensure_signed_in(self) -> None:
        async with self._lock:
            due = self._renew_at is not None and self._clock() >= self._renew_at
            if not self._signed_in or due:
                await self._sign_in()

    async def _token_valid(self) -> bool:
        """Whether the token in use is still one the server knows (a 403 says nothing else)."""
        try:
            await self._thread(lambda c: c.auth.token.lookup_self())
        except _REFUSED:
            return False
        except _FAILURES as error:
            raise self._failure(error, "token lookup-self") from None
        return True

    async def _run(self, what: str, op: Op[T]) -> T:
        """`op` on the signed-in client; a refused token is replaced once, and the op tried
        again; a refusal of a valid token is PERMISSION_DENIED."""
        await self._ensure_signed_in()
        token = self._client.token
        try:
            return await self._thread(op)
        except _REFUSED:
            pass
        except _FAILURES as error:
            raise self._failure(error, what) from None
        if await self._token_valid():
            raise IntegrationError(
                "PERMISSION_DENIED",
                f"{what}: permission denied (the token's policies do not allow it)",
            ) from None
        async with self._lock:
            if self._client.token == token:  # nobody signed in again meanwhile
                self._signed_in = False
                await self._sign_in()
        try:
            return await self._thread(op)
        except _FAILURES as error:
            raise self._failure(error, what) from None

    # --- what the hub asks ------------------------------------------------------------------

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            return await self._health()
        if level == "authentication":
            return await self.sign_in()
        return await self._functionality()

    async def _health(self) -> str:
        try:
            # hvac hands back a 200's JSON, and any other answer (sealed: 503) as it came
            answer = await self._thread(lambda c: c.sys.read_health_status(method="GET"))
            health = answer if isinstance(answer, dict) else answer.json()
        except _FAILURES as error:
            raise self._failure(error, "sys/health") from None
        if not isinstance(health, dict):
            raise IntegrationError("PROVIDER_ERROR", "sys/health: an answer that is not JSON")
        if not health.get("initialized", True):
            raise IntegrationError("CONNECTION_REFUSED", "the server is not initialised")
        if health.get("sealed"):
            raise IntegrationError(
                "CONNECTION_REFUSED", "the server is sealed (unseal it to serve secrets)"
            )
        version = health.get("version") or "unknown"
        role = "a standby node" if health.get("standby") else "active"
        return f"reachable: version {version}, unsealed, {role}"

    async def _functionality(self) -> str:
        """The mount is a KV store of the configured version, and the token may use it."""
        mount, wanted = self._config.mount, self._config.kv_version
        try:
            answer = await self._run(
                f"mount {mount}/",
                lambda c: c.adapter.get(f"/v1/sys/internal/ui/mounts/{mount}"),
            )
        except IntegrationError as error:
            if error.code == "PERMISSION_DENIED":
                raise IntegrationError(
                    "RESOURCE_NOT_FOUND",
                    f"there is no mount {mount}/ (or the token may use nothing on it)",
                ) from None
            raise
        data = (answer or {}).get("data") or {} if isinstance(answer, dict) else {}
        kind = data.get("type")
        version = str((data.get("options") or {}).get("version") or "1")
        if kind != "kv":
            raise IntegrationError(
                "INVALID_CONFIG", f"mount {mount}/ is a {kind} engine, not a KV secrets engine"
            )
        if version != str(wanted):
            raise IntegrationError(
                "INVALID_CONFIG",
                f"mount {mount}/ is KV version {version}; set kv_version {version}",
            )
        try:
            keys = await self._list("")
        except IntegrationError as error:
            if error.code != "PERMISSION_DENIED":
                raise
            return f"mount {mount}/ is KV v{wanted}; the token may not list it (reads may work)"
        return f"mount {mount}/ is KV v{wanted}, {len(keys)} entries at its top"

    async def _list(self, path: str) -> list[str]:
        mount = self._config.mount
        where = f"{mount}/{path}".rstrip("/") + "/"
        version = self._config.kv_version

        def op(client: hvac.Client) -> Any:
            kv = client.secrets.kv.v2 if version == 2 else client.secrets.kv.v1
            return kv.list_secrets(path=path, mount_point=mount)

        try:
            return _keys(await self._run(f"list {where}", op))
        except IntegrationError as error:
            if error.code == "RESOURCE_NOT_FOUND":  # Vault's answer for an empty folder
                return []
            raise

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        """The secrets (and folders) under scope["path"], and one level into each folder;
        names only, never a value."""
        if resource_type != "secrets":
            raise IntegrationError("UNSUPPORTED", f"cannot discover {resource_type!r}")
        base = scope.get("path", "").strip("/")
        prefix = f"{base}/" if base else ""
        found: list[Resource] = []
        for key in await self._list(base):
            found.append(self._resource(prefix + key))
            if key.endswith("/"):
                for inner in await self._list(prefix + key.rstrip("/")):
                    found.append(self._resource(prefix + key + inner))
        return found

    def _resource(self, path: str) -> Resource:
        folder = path.endswith("/")
        return Resource(
            type="secrets",
            name=path,
            details={"mount": self._config.mount, "folder": folder, "kv": self._config.kv_version},
        )

    async def read_secret(self, path: str, key: str) -> str:
        """The value of `key` in the secret at `path` (relative to the mount)."""
        mount, path = self._config.mount, path.strip("/")
        where = f"{mount}/{path}"
        if self._config.kv_version == 2:
            answer = await self._run(
                f"read {where}",
                lambda c: c.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=mount, raise_on_deleted_version=True
                ),
            )
            data = ((answer or {}).get("data") or {}).get("data") or {}
        else:
            answer = await self._run(
                f"read {where}",
                lambda c: c.secrets.kv.v1.read_secret(path=path, mount_point=mount),
            )
            data = (answer or {}).get("data") or {}
        if not isinstance(data, dict):
            raise IntegrationError("PROVIDER_ERROR", f"read {where}: an answer without data")
        return _value(data, key, where)


def connect(context: ConnectorContext) -> VaultConnector:
    return VaultConnector(context)


PROVIDER = ProviderSpec(
    name="hashicorp-vault",
    type="secrets",
    title="HashiCorp Vault / OpenBao",
    config=VaultConfig,
    connect=connect,
    resource_types=("secrets",),
)
