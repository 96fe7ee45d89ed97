"""A Prometheus of the test's own: Debian's `prometheus` on a free loopback port, scraping its
targets every 250 ms and storing under a temporary directory, with optional basic auth (its
web config, bcrypt entries made by htpasswd); a metrics endpoint of the test's own
(prometheus_client) for it to scrape; waiting, by a bounded poll, until a query gives what
a test needs; and the `prometheus` provider in the catalogue the app's hub is built with.

Without the binary a test skips, except under CI=true, where it fails (.ci/run installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, start_http_server

from app.integrations.catalogue import catalogue
from app.integrations.metrics.prometheus import PROVIDER
from app.integrations.spec import ProviderSpec
from tests.support.http import free_port
from tests.support.services import IN_CI

__all__ = [
    "PROMETHEUS_BINARY",
    "PrometheusServer",
    "exporting",
    "own_prometheus",
    "require_prometheus",
    "use_prometheus_provider",
    "values_of",
]

PROMETHEUS_BINARY = "/usr/bin/prometheus"


def require_prometheus(*, users: bool = False) -> str:
    """The binary (and htpasswd, for `users`): skipped without them, failed under CI=true."""
    missing = [] if Path(PROMETHEUS_BINARY).is_file() else [PROMETHEUS_BINARY]
    if users and shutil.which("htpasswd") is None:
        missing.append("htpasswd")
    if missing:
        message = (
            f"{' and '.join(missing)} not installed (apt-get install prometheus apache2-utils)"
        )
        if IN_CI:
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return PROMETHEUS_BINARY


@dataclass
class PrometheusServer:
    url: str
    directory: Path
    users: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        """What Prometheus wrote (for a failing test's message)."""
        path = self.directory / "prometheus.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def auth(self) -> httpx.BasicAuth | None:
        if not self.users:
            return None
        user, password = next(iter(self.users.items()))
        return httpx.BasicAuth(user, password)


def _web_config(path: Path, users: Mapping[str, str]) -> None:
    entries = {}
    for user, password in users.items():
        made = subprocess.run(
            ["htpasswd", "-nbB", user, password], check=True, capture_output=True, text=True
        )
        entries[user] = made.stdout.strip().partition(":")[2]
    path.write_text(json.dumps({"basic_auth_users": entries}))  # JSON is YAML


@contextlib.contextmanager
def own_prometheus(
    directory: Path, targets: Sequence[str], *, users: Mapping[str, str] | None = None
) -> Iterator[PrometheusServer]:
    """A started Prometheus scraping `targets` ("127.0.0.1:PORT", job "app") every 250 ms;
    with `users` it asks for basic auth. Ready (its `/-/ready` answers 200) when yielded."""
    binary = require_prometheus(users=bool(users))
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = {
        "global": {"scrape_interval": "250ms", "scrape_timeout": "200ms"},
        "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": list(targets)}]}],
    }
    (directory / "prometheus.yml").write_text(json.dumps(config))
    command = [
        binary,
        f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    if users:
        _web_config(directory / "web.yml", users)
        command.append(f"--web.config.file={directory / 'web.yml'}")
    server = PrometheusServer(f"http://127.0.0.1:{port}", directory, dict(users or {}))
    with (directory / "prometheus.log").open("wb") as log:
        server.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(server)
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


def _wait_ready(server: PrometheusServer) -> None:
    assert server.process is not None
    for _ in range(3000):
        if server.process.poll() is not None:
            raise AssertionError(f"prometheus exited:\n{server.log}")
        with contextlib.suppress(httpx.TransportError):
            answer = httpx.get(f"{server.url}/-/ready", auth=server.auth(), timeout=1)
            if answer.status_code == 200:
                return
        time.sleep(0.01)
    raise AssertionError(f"prometheus was not ready at {server.url}:\n{server.log}")


async def values_of(
    server: PrometheusServer,
    query: str,
    done: Callable[[list[float]], bool],
    *,
    within: float = 30.0,
) -> list[float]:
    """The values `query` gives, asked again every 100 ms until `done` holds for them (at
    most `within` seconds; AssertionError naming the query and the last values if never)."""
    deadline = asyncio.get_running_loop().time() + within
    values: list[float] = []
    async with httpx.AsyncClient(base_url=server.url, auth=server.auth(), timeout=5) as http:
        while True:
            answer = await http.get("/api/v1/query", params={"query": query})
            answer.raise_for_status()
            result = answer.json()["data"]["result"]
            values = [float(item["value"][1]) for item in result]
            if done(values):
                return values
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"{query} gave {values} for {within:g} s\n{server.log}")
            await asyncio.sleep(0.1)


@contextlib.contextmanager
def exporting(registry: CollectorRegistry) -> Iterator[str]:
    """`registry`'s metrics in the exposition format on a free loopback port (a thread of
    prometheus_client's); yields the target ("127.0.0.1:PORT") to scrape."""
    httpd, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def use_prometheus_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `prometheus` provider in the catalogue the app's hub is built with (`app.wiring`),
    whether or not this version's catalogue lists it yet."""

    def with_prometheus() -> dict[str, ProviderSpec]:
        return {**catalogue(), PROVIDER.name: PROVIDER}

    monkeypatch.setattr("app.wiring.catalogue", with_prometheus)
