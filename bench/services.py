"""What a run starts and must clean up: uvicorn servers, the bench database, Redis database 14."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import redis

__all__ = [
    "POSTGRES_ADMIN_URL",
    "REDIS_URL",
    "Server",
    "bench_database",
    "flush_redis",
    "migrate",
    "queued_jobs",
    "running",
    "server_env",
]

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "shipyard_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
QUEUE_KEY = "shipyard:queue"  # jobqueue.arq_queue.QUEUE_NAME


def server_env(database_url: str, secret: str) -> dict[str, str]:
    """The environment of our processes: this one's, less Shipyard's own settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        GITHUB_WEBHOOK_SECRET=secret,
        SHIPYARD_LOG_LEVEL="WARNING",
    )
    return env


def migrate(env: dict[str, str], cwd: Path) -> None:
    """`shipyard db upgrade`, through this interpreter so it works in any virtualenv."""
    command = [sys.executable, "-c", "from app.cli import main; main()", "db", "upgrade"]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`shipyard db upgrade` failed:\n{done.stderr[-3000:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """One uvicorn process serving `factory` (a `module:function` app factory) on loopback."""

    def __init__(self, factory: str, env: dict[str, str], cwd: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = cwd / f"uvicorn-{self.port}.log"
        self._command = [
            sys.executable, "-m", "uvicorn", factory, "--factory", "--app-dir", str(ROOT),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self._env, self._cwd = env, cwd
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def start(self, timeout: float = 30.0) -> None:
        """Start it and wait until `/healthz` answers 200."""
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._command, env=self._env, cwd=self._cwd, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"uvicorn exited at start-up:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                time.sleep(0.1)
        raise RuntimeError(
            f"/healthz did not answer 200 within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Terminate it (SIGTERM, then SIGKILL after 10 s)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def running(factory: str, env: dict[str, str], cwd: Path) -> Iterator[Server]:
    server = Server(factory, env, cwd)
    try:
        server.start()
        yield server
    finally:
        server.stop()


async def _postgres_admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """A fresh, empty `shipyard_bench` PostgreSQL database, dropped afterwards."""
    drop = f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"
    asyncio.run(_postgres_admin(drop))
    asyncio.run(_postgres_admin(f"CREATE DATABASE {BENCH_DATABASE}"))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
    finally:
        asyncio.run(_postgres_admin(drop))


def flush_redis() -> None:
    with redis.Redis.from_url(REDIS_URL, socket_timeout=5) as client:
        client.flushdb()


def queued_jobs() -> int:
    """How many jobs wait on Shipyard's arq queue (no worker runs during the bench)."""
    with redis.Redis.from_url(REDIS_URL, socket_timeout=5) as client:
        return int(client.zcard(QUEUE_KEY))
