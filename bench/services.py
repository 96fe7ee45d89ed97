"""What a run starts and must clean up: servers, the bench database, Redis database 10."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import redis

__all__ = [
    "POSTGRES_ADMIN_URL",
    "REDIS_URL",
    "Server",
    "bench_database",
    "code_under_test",
    "count_deliveries",
    "exclusive",
    "flush_redis",
    "free_port",
    "migrate",
    "python_path",
    "queued_jobs",
    "running",
    "server_env",
]

# Where `bench` is imported from, not resolved: with `--tree` (bench/tree.py) it is an overlay
# that holds only `bench`, and the code under test comes from another tree.
BENCH_ROOT = Path(__file__).absolute().parent.parent
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
# One name per run (the process id), so that runs never drop each other's database.
BENCH_DATABASE = f"shipyard_bench_{os.getpid()}"
LOCK_FILE = Path(tempfile.gettempdir()) / "shipyard-bench.lock"
REDIS_URL = "redis://127.0.0.1:6379/10"
QUEUE_KEY = "shipyard:queue"  # jobqueue.arq_queue.QUEUE_NAME


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """One bench run at a time on this machine: they share Redis db 10 (each flushes it) and
    would measure each other. A second run waits here until the first is done."""
    with LOCK_FILE.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another run"
            print(f"waiting for the bench run holding {LOCK_FILE} ({holder}) ...",
                  file=sys.stderr, flush=True)  # fmt: skip
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}: {' '.join(sys.argv)}\n")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


def app_root() -> Path:
    """The tree whose `app` package this interpreter imports (the code under test)."""
    spec = importlib.util.find_spec("app")
    if spec is None or spec.origin is None:
        raise RuntimeError("Shipyard's `app` package is not importable from this interpreter")
    return Path(spec.origin).parent.parent


def python_path() -> str:
    """PYTHONPATH for our subprocesses: `bench` from here, `app` from the code under test."""
    roots = dict.fromkeys([str(BENCH_ROOT), str(app_root())])
    return os.pathsep.join(roots)


def code_under_test() -> dict[str, str]:
    """The tree under test, its commit and how many of its files differ from that commit."""
    root = app_root()

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip() if done.returncode == 0 else "?"

    changed = git("status", "--porcelain", "--untracked-files=no")
    dirty = len(changed.splitlines()) if changed != "?" else "?"
    return {"tree": str(root), "commit": git("rev-parse", "--short", "HEAD"),
            "changed_files": str(dirty)}  # fmt: skip


def machine(*packages: str) -> dict[str, object]:
    """What a result was measured on: the CPUs this process may use, Python, the platform, and
    the versions of `packages` (when any are named)."""
    described: dict[str, object] = {
        "cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if packages:
        described["versions"] = ", ".join(f"{name} {version(name)}" for name in packages)
    return described


def server_env(database_url: str, secret: str) -> dict[str, str]:
    """The environment of our processes: this one's, less Shipyard's own settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        GITHUB_WEBHOOK_SECRET=secret,
        SHIPYARD_LOG_LEVEL="WARNING",
        PYTHONPATH=python_path(),
    )
    return env


def migrate(env: dict[str, str], cwd: Path) -> None:
    """`shipyard db upgrade`, through this interpreter so it works in any virtualenv."""
    command = [sys.executable, "-c", "from app.cli import main; main()", "db", "upgrade"]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`shipyard db upgrade` failed:\n{done.stderr[-3000:]}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """One server process on loopback: uvicorn serving `factory` (a `module:function` app
    factory), or `command` (given the port in the environment as PORT), e.g. Probot on node."""

    def __init__(
        self, factory: str, env: dict[str, str], cwd: Path, command: list[str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = cwd / f"server-{self.port}.log"
        self._command = command or [
            sys.executable, "-m", "uvicorn", factory, "--factory", "--app-dir", str(app_root()),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self._env, self._cwd = {**env, "PORT": str(self.port)}, cwd
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
                    raise RuntimeError(f"the server exited at start-up:\n{self.log_tail()}")
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
def running(
    factory: str, env: dict[str, str], cwd: Path, command: list[str] | None = None
) -> Iterator[Server]:
    server = Server(factory, env, cwd, command)
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
    """A fresh, empty PostgreSQL database of this run's own, dropped afterwards."""
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


def count_deliveries(database_url: str) -> int:
    """How many rows the `deliveries` table holds now (committed ones: another connection)."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
            return int(connection.execute("SELECT count(*) FROM deliveries").fetchone()[0])

    async def count() -> int:
        connection = await asyncpg.connect(database_url, timeout=10)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM deliveries"))
        finally:
            await connection.close()

    return asyncio.run(count())


def queued_jobs() -> int:
    """How many jobs wait on Shipyard's arq queue (no worker runs during the bench)."""
    with redis.Redis.from_url(REDIS_URL, socket_timeout=5) as client:
        return int(client.zcard(QUEUE_KEY))
