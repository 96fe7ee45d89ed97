"""`python -m bench.pipelines`: what the pipeline engine costs per step, and how long a webhook
takes to become a pending commit status.

1. Engine overhead: `--runs` runs at once of a pipeline of `--steps` steps in sequence, on arq
   with the real Redis and `--workers` worker processes, on SQLite (WAL) and PostgreSQL; the
   steps are `noop` (a step type the bench registers in its own processes) and, for
   reference, `run_command` with `args: ["true"]`.
2. Webhook -> pending status: the full app under uvicorn, worker processes, and a GitHub
   stand-in on loopback that stamps each commit status as it arrives.

Besides the configuration as shipped, a few "what-if" passes run the same thing with a change
made only inside the bench's own worker processes (a shorter arq `poll_delay`, one SSL context
per process instead of one per HTTP client), to measure what each fix would buy. Nothing in
app/ or jobqueue/ is changed.

Prints Markdown and writes bench/results/pipelines-<time>.json. `python -m bench.pipelines
worker` is the worker the bench starts: `shipyard worker` plus the `noop` step type.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import inspect
import itertools
import json
import os
import random
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, cast

import asyncpg  # type: ignore[import-untyped]
import httpx
import redis
import uvicorn
from arq.connections import create_pool
from sqlalchemy import DateTime, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench import services
from bench.pipeline_report import (
    HOP_TARGET_MS,
    PENDING_TARGET_MS,
    STEP_TARGET_MS,
    markdown,
    percentile,
    profile_summary,
    write_json,
)
from bench.tree import run_in_tree, split_tree
from jobqueue.arq_queue import ArqQueue, redis_settings
from steps.base import StepConfig, StepContext

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
REDIS_URL = services.REDIS_URL  # db 10, flushed before and after every pass
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = f"shipyard_bench_pipes_{os.getpid()}"  # this run's own
QUEUE_NAME = "shipyard:queue"  # jobqueue.arq_queue.QUEUE_NAME
REPO = "acme/bench"
UNUSED_API = "http://127.0.0.1:9"  # discard port: nothing in phase 1 should call the host
STOP_WAIT = 10.0


# --- the no-op step, registered in the bench's processes only ---------------------------------


class NoopConfig(StepConfig):
    pass


class NoopStep:
    """A step that does nothing: what is left is the engine's own cost."""

    type_name: ClassVar[str] = "noop"
    Config: ClassVar[type[StepConfig]] = NoopConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        return {}


def register_noop() -> None:
    from steps.registry import STEP_TYPES

    STEP_TYPES.setdefault(NoopStep.type_name, NoopStep())


def share_ssl_context() -> None:
    """What-if: every httpx client of this process shares one SSL context (per verify/cert
    setting) instead of building its own; httpx loads the CA bundle for each one (~20 ms)."""
    from httpx._config import create_ssl_context as build
    from httpx._transports import default as transport

    made: dict[tuple[Any, ...], ssl.SSLContext] = {}

    def shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        key = (verify, cert, trust_env)
        if key not in made:
            made[key] = build(verify=verify, cert=cert, trust_env=trust_env)
        return made[key]

    setattr(transport, "create_ssl_context", shared)  # noqa: B010 (mypy: other signature)


def count_database_work(path: str) -> None:
    """Count, in this process, pool checkouts (each a pre-ping on PostgreSQL), statements,
    commits and rollbacks; written as JSON to `path` when the process exits."""
    import atexit

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    counts = {"checkouts": 0, "statements": 0, "commits": 0, "rollbacks": 0}

    def bump(name: str) -> Any:
        def listener(*_args: Any, **_kwargs: Any) -> None:
            counts[name] += 1

        return listener

    event.listen(Pool, "checkout", bump("checkouts"))
    event.listen(Engine, "before_cursor_execute", bump("statements"))
    event.listen(Engine, "commit", bump("commits"))
    event.listen(Engine, "rollback", bump("rollbacks"))
    atexit.register(lambda: Path(path).write_text(json.dumps(counts)))


def no_pre_ping() -> None:
    """What-if: the database engine without `pool_pre_ping` (app/db/engine.py sets it for
    PostgreSQL; with asyncpg each checkout then costs BEGIN, `;` and ROLLBACK)."""
    from sqlalchemy.ext.asyncio import create_async_engine as create

    from app.db import engine as db

    def without_ping(*args: Any, **kwargs: Any) -> AsyncEngine:
        kwargs["pool_pre_ping"] = False
        return create(*args, **kwargs)

    setattr(db, "create_async_engine", without_ping)  # noqa: B010


def worker_main() -> None:
    """`shipyard worker` (app/cli.py) with the `noop` step type; options for arq's Worker come
    as JSON in BENCH_WORKER_OPTIONS, and BENCH_READY_FILE is created once it has started."""
    from app.logs import configure_logging
    from app.settings import Settings
    from app.worker import create_worker

    register_noop()
    if os.environ.get("BENCH_SHARED_SSL") == "1":
        share_ssl_context()
    if os.environ.get("BENCH_NO_PRE_PING") == "1":
        no_pre_ping()
    if os.environ.get("BENCH_COUNTS_FILE"):
        count_database_work(os.environ["BENCH_COUNTS_FILE"])
    settings = Settings()
    configure_logging(settings.log_level)
    options: dict[str, Any] = json.loads(os.environ.get("BENCH_WORKER_OPTIONS") or "{}")
    worker = create_worker(settings, **options)
    started, ready = worker.on_startup, os.environ.get("BENCH_READY_FILE")

    async def startup(ctx: dict[Any, Any]) -> None:
        if started is not None:
            await started(ctx)
        if ready:
            os.close(os.open(ready, os.O_CREAT | os.O_WRONLY, 0o644))  # touch

    worker.on_startup = startup
    worker.run()


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    runs: int
    steps: int
    reference_runs: int
    workers: int
    deliveries: int
    rate: float
    databases: tuple[str, ...]
    poll_delay: float | None
    max_jobs: int | None
    phase_timeout: float
    profile: bool
    parts: tuple[str, ...]
    what_if: bool
    chain_steps: int = 20

    @property
    def worker_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.poll_delay is not None:
            options["poll_delay"] = self.poll_delay
        if self.max_jobs is not None:
            options["max_jobs"] = self.max_jobs
        return options


_FULL = {"runs": 100, "steps": 10, "reference_runs": 20, "deliveries": 100, "chain_steps": 20}
_QUICK = {"runs": 20, "steps": 5, "reference_runs": 5, "deliveries": 20, "chain_steps": 10}
WHAT_IF_POLL_DELAY = 0.05
WHAT_IF_RATE = 2.0  # deliveries/s for the what-if latency passes: a machine with room to spare
WHAT_IF_DELIVERIES = 20


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.pipelines", description=__doc__)
    parser.add_argument("--runs", type=int, help="runs started at once, noop steps (100)")
    parser.add_argument("--steps", type=int, help="steps per pipeline, in sequence (10)")
    parser.add_argument(
        "--reference-runs", type=int, help='runs of the `run_command args: ["true"]` pass (20)'
    )
    parser.add_argument(
        "--chain-steps",
        type=int,
        help="steps of the one run that goes alone, for the gap between dependent steps "
        "without other runs in the way (20; 0: skip)",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--deliveries", type=int, help="webhook deliveries in part 2 (100)")
    parser.add_argument("--rate", type=float, default=20.0, help="deliveries per second (20)")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database only")
    parser.add_argument(
        "--part", choices=["engine", "latency"], help="one part only (default: both)"
    )
    parser.add_argument(
        "--poll-delay", type=float, help="arq poll_delay for the workers (arq's default: 0.5)"
    )
    parser.add_argument("--max-jobs", type=int, help="arq max_jobs per worker (default: 10)")
    parser.add_argument(
        "--phase-timeout", type=float, default=300.0, help="give up on a phase after (300 s)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy worker 0 during the noop passes"
    )
    parser.add_argument(
        "--no-what-if", action="store_true", help="only the configuration as shipped"
    )
    parser.add_argument(
        "--tree", help="the Shipyard tree to measure, with its own .venv (default: this one)"
    )
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args(argv)
    defaults = _QUICK if args.quick else _FULL
    pick = {name: defaults[name] if getattr(args, name) is None else getattr(args, name)
            for name in defaults}  # fmt: skip
    return Config(
        runs=int(pick["runs"]),
        steps=int(pick["steps"]),
        reference_runs=int(pick["reference_runs"]),
        workers=args.workers,
        deliveries=int(pick["deliveries"]),
        rate=args.rate,
        databases=(args.only,) if args.only else ("sqlite", "postgres"),
        poll_delay=args.poll_delay,
        max_jobs=args.max_jobs,
        phase_timeout=args.phase_timeout,
        profile=args.profile,
        parts=(args.part,) if args.part else ("engine", "latency"),
        what_if=not args.no_what_if,
        chain_steps=int(pick["chain_steps"]),
    )


@dataclass(frozen=True)
class Variant:
    """The workers as shipped, or with one change made in the bench's worker processes."""

    label: str = "as shipped"
    poll_delay: float | None = None
    shared_ssl: bool = False
    no_pre_ping: bool = False

    def options(self, config: Config) -> dict[str, Any]:
        options = dict(config.worker_options)
        if self.poll_delay is not None:
            options["poll_delay"] = self.poll_delay
        return options

    def env(self, config: Config) -> dict[str, str]:
        return {
            "BENCH_WORKER_OPTIONS": json.dumps(self.options(config)),
            "BENCH_SHARED_SSL": "1" if self.shared_ssl else "0",
            "BENCH_NO_PRE_PING": "1" if self.no_pre_ping else "0",
        }


SHIPPED = Variant()
SHARED_SSL = Variant("what-if: one SSL context per process", shared_ssl=True)
BOTH_FIXES = Variant(
    f"what-if: poll_delay={WHAT_IF_POLL_DELAY:g} + one SSL context",
    poll_delay=WHAT_IF_POLL_DELAY,
    shared_ssl=True,
)
THREE_FIXES = Variant(
    f"what-if: poll_delay={WHAT_IF_POLL_DELAY:g} + one SSL context + no pre-ping",
    poll_delay=WHAT_IF_POLL_DELAY,
    shared_ssl=True,
    no_pre_ping=True,
)


def pipeline_yaml(steps: int, step_type: str, trigger: str) -> str:
    """`.shipyard.yml` with one pipeline `bench` of `steps` steps, each needing the one before
    (the default when `needs:` is absent)."""
    config = "{}" if step_type == "noop" else '{args: ["true"]}'
    kind = "noop" if step_type == "noop" else "run_command"
    body = "".join(
        f"      - {{name: s{index:03d}, type: {kind}, config: {config}}}\n"
        for index in range(steps)
    )
    return f"pipelines:\n  bench:\n    on: {trigger}\n    steps:\n{body}"


# --- services: databases, Redis, processes, CPU -----------------------------------------------


async def _postgres_admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file in `directory`, or `shipyard_bench_pipes`."""
    if kind == "sqlite":
        path = directory / f"pipes-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        try:
            services.migrate(_env(url), directory)
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(f"{path}{suffix}").unlink()
        return
    drop = f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"
    asyncio.run(_postgres_admin(drop))
    asyncio.run(_postgres_admin(f"CREATE DATABASE {BENCH_DATABASE}"))
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
        services.migrate(_env(url), directory)
        yield url
    finally:
        asyncio.run(_postgres_admin(drop))


def flush_redis() -> None:
    with redis.Redis.from_url(REDIS_URL, socket_timeout=5) as client:
        client.flushdb()


def _env(database_url: str, **extra: str) -> dict[str, str]:
    """Our processes' environment: this one's without Shipyard's settings, plus ours."""
    prefixes = ("SHIPYARD_", "GITHUB_", "GITLAB_", "GITEA_", "ANTHROPIC_")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(prefixes) and k not in ("DATABASE_URL", "REDIS_URL", "PORT")
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        PYTHONPATH=services.python_path(),  # `bench` from here, `app` from the code under test
        GITHUB_TOKEN="ghp_bench_token",  # noqa: S106 (the stand-in's, not a secret)
        GITHUB_API_URL=UNUSED_API,
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Processes:
    """Subprocesses we started; `stop()` terminates them, then kills what is left."""

    directory: Path
    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # every one started, running or not

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.directory / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command, env=env, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT
            )
        self.started.append((name, process))
        self.names.append(name)
        return process

    def log_tail(self, name: str, chars: int = 2000) -> str:
        try:
            return (self.directory / f"{name}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def read_logs(self, prefix: str) -> str:
        return "".join(
            (self.directory / f"{name}.log").read_text(errors="replace")
            for name in self.names
            if name.startswith(prefix) and (self.directory / f"{name}.log").exists()
        )

    def counts(self) -> dict[str, int]:
        """The workers' database counters (written when each exited), summed."""
        total: dict[str, int] = {}
        for name in self.names:
            path = self.directory / f"{name}.counts.json"
            if path.exists():
                for key, value in json.loads(path.read_text()).items():
                    total[key] = total.get(key, 0) + int(value)
                path.unlink()
        return total

    def stop(self, signum: int = signal.SIGTERM) -> None:
        for _, process in self.started:
            if process.poll() is None:
                process.send_signal(signum)
        deadline = time.monotonic() + STOP_WAIT
        for _, process in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_WAIT)
        self.started.clear()


def start_workers(
    processes: Processes, count: int, env: dict[str, str], timeout: float = 60.0
) -> list[int]:
    """`count` workers (`python -m bench.pipelines worker`); returns their pids once each has
    run its start-up (migrations checked, recovery done)."""
    pids, ready = [], []
    for index in range(count):
        flag = processes.directory / f"worker-{index}-{uuid.uuid4().hex[:6]}.ready"
        ready.append((f"worker-{index}", flag))
        process = processes.start(
            f"worker-{index}",
            [sys.executable, "-m", "bench.pipelines", "worker"],
            {**env, "BENCH_READY_FILE": str(flag),
             "BENCH_COUNTS_FILE": str(processes.directory / f"worker-{index}.counts.json")},
        )  # fmt: skip
        pids.append(process.pid)
    deadline = time.monotonic() + timeout
    for name, flag in ready:
        while not flag.exists():
            failed = [p for n, p in processes.started if n == name and p.poll() is not None]
            if failed:
                raise RuntimeError(f"{name} exited at start-up:\n{processes.log_tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready in {timeout:.0f} s")
            time.sleep(0.05)
    return pids


_SWEEP_DONE = re.compile(r"(\d+\.\d+)s \u2190 cron:sweep_now")


def sweeps(logs: str) -> tuple[int, float]:
    """How many 5-second sweeps the workers ran, and their seconds (from arq's INFO lines)."""
    found = [float(seconds) for seconds in _SWEEP_DONE.findall(logs)]
    return len(found), round(sum(found), 2)


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> tuple[str, list[str]] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            data = stat.read()
    except OSError:
        return None
    return data[data.index("(") + 1 : data.rindex(")")], data.rpartition(")")[2].split()


def _postgres_ours(pid: str, database: str | None) -> bool:
    """A postgres process of the server itself, or a backend of `database`."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            title = cmdline.read().decode(errors="replace")
    except OSError:
        return False
    is_backend = "127.0.0.1(" in title or "[local]" in title or "::1(" in title
    return not is_backend or (database is not None and f" {database} " in title)


@dataclass(frozen=True)
class CpuSample:
    wall: float
    machine: float
    workers: float
    postgres: float
    redis: float
    app: float
    bench: float

    def since(self, before: CpuSample) -> dict[str, float]:
        """CPU seconds each party used between `before` and this sample; `other` is the rest
        of the machine (other users' work, the kernel): large means a crowded machine."""
        used = {
            name: getattr(self, name) - getattr(before, name)
            for name in ("workers", "postgres", "redis", "app", "bench", "machine")
        }
        ours = sum(v for k, v in used.items() if k != "machine")
        return {**used, "other": max(0.0, used["machine"] - ours), "wall": self.wall - before.wall}


def cpu_sample(worker_pids: Sequence[int], database: str | None, app_pid: int = 0) -> CpuSample:
    """CPU seconds so far: workers (with reaped children), PostgreSQL (its own processes and
    `database`'s backends), Redis, the app server, this process, and the whole machine."""
    workers = postgres = redis_s = app = 0.0
    mine = set(worker_pids)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        read = _stat(entry.name)
        if read is None:
            continue
        name, fields = read
        pid = int(entry.name)
        if pid in mine:
            workers += sum(int(value) for value in fields[11:15]) / _TICKS
        elif pid == app_pid:
            app += (int(fields[11]) + int(fields[12])) / _TICKS
        elif name == "postgres" and _postgres_ours(entry.name, database):
            postgres += (int(fields[11]) + int(fields[12])) / _TICKS
        elif name == "redis-server":
            redis_s += (int(fields[11]) + int(fields[12])) / _TICKS
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    machine = (sum(ticks) - ticks[3] - ticks[4]) / _TICKS
    return CpuSample(
        time.perf_counter(), machine, workers, postgres, redis_s, app, time.process_time()
    )


@contextlib.contextmanager
def profiling(pid: int, output: Path, enabled: bool) -> Iterator[None]:
    """py-spy sampling `pid` (100 Hz, idle included) into `output` while the block runs."""
    if not enabled:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--format", "raw",
               "--rate", "100", "--nonblocking", "-o", str(output)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes the file on SIGINT
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _ms(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (_utc(later) - _utc(earlier)).total_seconds() * 1000


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _p(values: Sequence[float | None], q: float) -> float | None:
    found = percentile([v for v in values if v is not None], q)
    return None if found is None else round(found, 2)


# --- part 1: engine overhead ------------------------------------------------------------------


def _sessions(url: str) -> tuple[AsyncEngine, Any]:
    from app.db.engine import create_engine, session_factory
    from app.settings import Settings

    settings = Settings(_env_file=None, DATABASE_URL=url)
    engine = create_engine(settings)
    return engine, session_factory(engine)


async def _drive_runs(
    url: str, runs: int, steps: int, step_type: str, worker_pids: list[int], limit: float
) -> dict[str, Any]:
    """Create the runs, enqueue `start_run` for each, wait until all have finished."""
    from app.features import parse_config
    from app.pipelines.config import pipelines_of
    from app.pipelines.launch import new_run
    from app.pipelines.runs import create_run

    config = parse_config(pipeline_yaml(steps, step_type, "{manual: true}"))
    pipeline = pipelines_of(config)["bench"]
    new = new_run("bench", pipeline, provider="github", repository=REPO, trigger="manual")
    engine, sessions = _sessions(url)
    queue = _queue()
    database_name = BENCH_DATABASE if url.startswith("postgres") else None
    try:
        created_at = time.perf_counter()
        ids = [(await create_run(sessions, new)).run_id for _ in range(runs)]
        create_s = time.perf_counter() - created_at
        before = cpu_sample(worker_pids, database_name)
        enqueued: dict[int, datetime] = {}
        for run_id in ids:
            enqueued[run_id] = datetime.now(UTC)
            await queue.enqueue("start_run", run_id, job_id=f"run:{run_id}")
        unfinished = runs
        deadline = before.wall + limit
        async with engine.connect() as connection:
            while unfinished and time.perf_counter() < deadline:
                await asyncio.sleep(0.1)
                count = await connection.scalar(
                    text("SELECT count(*) FROM pipeline_runs WHERE finished_at IS NULL")
                )
                await connection.commit()  # a fresh snapshot next time
                unfinished = int(count or 0)
        after = cpu_sample(worker_pids, database_name)
        rows = await _run_rows(engine)
        jobs = await _job_stats()
    finally:
        await queue.close()
        await engine.dispose()
    return {"create_s": create_s, "before": before, "after": after, "enqueued": enqueued,
            "rows": rows, "jobs": jobs, "timed_out": unfinished > 0}  # fmt: skip


def _queue() -> ArqQueue:
    """The app's arq client on the bench's Redis. Its constructor takes `queue_name` since the
    queue got a configurable name (2aa4b5d and earlier: no such argument, one fixed queue)."""
    build: Any = ArqQueue
    if "queue_name" in inspect.signature(ArqQueue).parameters:
        return cast(ArqQueue, build(redis_settings(REDIS_URL), queue_name="shipyard"))
    return cast(ArqQueue, build(redis_settings(REDIS_URL)))


_TIMES = {
    name: DateTime(timezone=True) for name in ("created_at", "started_at", "finished_at")
}  # typed, so SQLite's text timestamps come back as datetimes


async def _run_rows(engine: AsyncEngine) -> dict[str, list[Any]]:
    async with engine.connect() as connection:
        runs = (
            await connection.execute(
                text(
                    "SELECT id, state, created_at, started_at, finished_at FROM pipeline_runs"
                ).columns(**_TIMES)
            )
        ).all()
        steps = (
            await connection.execute(
                text(
                    "SELECT run_id, position, state, attempts, error, started_at, finished_at "
                    "FROM step_runs ORDER BY run_id, position"
                ).columns(**_TIMES)
            )
        ).all()
    return {"runs": list(runs), "steps": list(steps)}


async def _job_stats() -> dict[str, dict[str, Any]]:
    """Per arq function: jobs, mean wait (enqueued -> started) and run (started -> finished)."""
    pool = await create_pool(redis_settings(REDIS_URL))
    try:
        results = await pool.all_job_results()
    finally:
        await pool.aclose()
    by: dict[str, list[tuple[float, float]]] = {}
    for result in results:
        wait = (result.start_time - result.enqueue_time).total_seconds() * 1000
        run = (result.finish_time - result.start_time).total_seconds() * 1000
        by.setdefault(result.function, []).append((wait, run))
    return {
        name: {
            "count": len(pairs),
            "wait_mean_ms": round(sum(w for w, _ in pairs) / len(pairs), 1),
            "run_mean_ms": round(sum(r for _, r in pairs) / len(pairs), 1),
            "run_total_s": round(sum(r for _, r in pairs) / 1000, 2),
        }
        for name, pairs in by.items()
    }


def engine_phase(
    config: Config,
    kind: str,
    step_type: str,
    runs: int,
    variant: Variant,
    directory: Path,
    profile_dir: Path,
) -> dict[str, Any]:
    """One pass: fresh database and Redis, workers, runs, numbers."""
    print(
        f"  engine: {kind} {step_type} x {runs} runs ({variant.label}) ...",
        file=sys.stderr,
        flush=True,
    )
    processes = Processes(directory)
    flush_redis()
    tag = f"{kind}-{step_type}-" + re.sub(r"[^a-z0-9.]+", "-", variant.label.lower()).strip("-")
    profile_path = profile_dir / f"profile-{tag}.txt"
    try:
        with database(kind, directory) as url:
            env = _env(url, SHIPYARD_DATA_DIR=str(directory / "data"), **variant.env(config))
            try:
                pids = start_workers(processes, config.workers, env)
                profile = config.profile and step_type == "noop"
                with profiling(pids[0], profile_path, profile):
                    driven = asyncio.run(
                        _drive_runs(url, runs, config.steps, step_type, pids, config.phase_timeout)
                    )
            finally:
                processes.stop()
                driven_sweeps = sweeps(processes.read_logs("worker-"))
                database_work = processes.counts()
    finally:
        flush_redis()
    row = _engine_row(config, kind, step_type, runs, variant, driven, driven_sweeps)
    total = runs * config.steps
    row["database_work"] = database_work
    row["per_step"] = {name: round(value / total, 1) for name, value in database_work.items()}
    if profile_path.exists():
        row["profile"] = {
            "phase": f"{kind} {step_type} ({variant.label})",
            **profile_summary(profile_path.read_text()),
            "file": str(profile_path),
        }
    print(
        f"    wall {row['wall_s']} s, {row['steps_per_s']} steps/s, worker CPU "
        f"{row['worker_cpu_ms_per_step']} ms/step, runs ok {row['succeeded']}/{runs}"
        + "".join(f"\n    step failed {n}x: {error}" for error, n in row["step_errors"].items()),
        file=sys.stderr,
        flush=True,
    )
    return row


def _engine_row(
    config: Config,
    kind: str,
    step_type: str,
    runs: int,
    variant: Variant,
    driven: dict[str, Any],
    swept: tuple[int, float],
) -> dict[str, Any]:
    used = driven["after"].since(driven["before"])
    rows = driven["rows"]
    wall = used["wall"]
    total = runs * config.steps

    def per_step(seconds: float) -> float:
        return round(seconds * 1000 / total, 2)

    by_run: dict[int, list[Any]] = {}
    for step in rows["steps"]:
        by_run.setdefault(step.run_id, []).append(step)
    hops: list[float | None] = []
    in_step: list[float | None] = []
    for steps in by_run.values():
        in_step += [_ms(s.finished_at, s.started_at) for s in steps]
        hops += [_ms(b.started_at, a.finished_at) for a, b in itertools.pairwise(steps)]
    finished = [r for r in rows["runs"] if r.finished_at is not None]
    from_created = [_ms(r.finished_at, r.created_at) for r in finished]
    from_enqueued = [_ms(r.finished_at, driven["enqueued"].get(r.id)) for r in finished]
    return {
        "database": kind,
        "step_type": step_type,
        "variant": variant.label,
        "runs": runs,
        "steps": config.steps,
        "workers": config.workers,
        "worker_options": variant.options(config),
        "finished": len(finished),
        "succeeded": sum(1 for r in rows["runs"] if r.state == "succeeded"),
        "states": _count(r.state for r in rows["runs"]),
        "step_errors": _count(s.error for s in rows["steps"] if s.state == "failed"),
        "step_attempts_over_1": sum(1 for s in rows["steps"] if s.attempts > 1),
        "timed_out": driven["timed_out"],
        "create_s": round(driven["create_s"], 2),
        "wall_s": round(wall, 2),
        "steps_per_s": round(total / wall, 1),
        "wall_ms_per_step": per_step(wall),
        "cpu_s": {name: round(value, 2) for name, value in used.items()},
        "worker_cpu_ms_per_step": per_step(used["workers"]),
        "postgres_cpu_ms_per_step": per_step(used["postgres"]),
        "redis_cpu_ms_per_step": per_step(used["redis"]),
        "machine_cpu_ms_per_step": per_step(used["machine"]),
        "machine_cpu_pct": round(100 * used["machine"] / wall, 1),
        "other_cpu_pct": round(100 * used["other"] / wall, 1),
        "run_created_p50_ms": _p(from_created, 50),
        "run_created_p99_ms": _p(from_created, 99),
        "run_enqueued_p50_ms": _p(from_enqueued, 50),
        "run_enqueued_p99_ms": _p(from_enqueued, 99),
        "hop_p50_ms": _p(hops, 50),
        "hop_p99_ms": _p(hops, 99),
        "in_step_p50_ms": _p(in_step, 50),
        "in_step_p99_ms": _p(in_step, 99),
        "jobs": driven["jobs"],
        "sweeps": swept[0],
        "sweep_busy_s": swept[1],
        "met": used["workers"] * 1000 / total <= STEP_TARGET_MS and not driven["timed_out"],
        "gap_met": _p(hops, 50) is not None
        and (_p(hops, 50) or 0.0) <= HOP_TARGET_MS
        and not driven["timed_out"],
    }


def _count(values: Iterator[str] | Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


# --- part 2: webhook to pending status --------------------------------------------------------


@dataclass
class StandIn:
    """The GitHub REST API as far as routing and reporting use it, stamping arrivals: the
    repository and its config, each pull request (from the repository itself, at the sha its
    delivery names), its author's role (admin), and the statuses."""

    config: bytes
    statuses: list[tuple[float, str, str]] = field(default_factory=list)  # (time, sha, state)
    reads: list[float] = field(default_factory=list)
    pulls: dict[int, str] = field(default_factory=dict)  # number -> head sha

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/repos/{owner}/{name}", self._repo),
                Route("/repos/{owner}/{name}/contents/{path:path}", self._contents),
                Route("/repos/{owner}/{name}/statuses/{sha}", self._status, methods=["POST"]),
                Route("/repos/{owner}/{name}/pulls/{number:int}", self._pull),
                Route("/repos/{owner}/{name}/collaborators/{login}/permission", self._permission),
            ]
        )

    async def _pull(self, request: Request) -> Response:
        number = request.path_params["number"]
        if number not in self.pulls:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(
            json.loads(pull_request_body(number, self.pulls[number]))["pull_request"]
        )

    async def _permission(self, request: Request) -> Response:
        return JSONResponse({"permission": "admin", "role_name": "admin"})

    async def _repo(self, request: Request) -> Response:
        full = f"{request.path_params['owner']}/{request.path_params['name']}"
        return JSONResponse({"full_name": full, "default_branch": "main"})

    async def _contents(self, request: Request) -> Response:
        self.reads.append(time.time())
        if request.path_params["path"] != ".shipyard.yml":
            return JSONResponse({"message": "Not Found"}, status_code=404)
        content = base64.b64encode(self.config).decode()
        return JSONResponse(
            {"type": "file", "encoding": "base64", "path": ".shipyard.yml", "sha": "0" * 40,
             "content": content}
        )  # fmt: skip

    async def _status(self, request: Request) -> Response:
        arrived = time.time()
        body = json.loads(await request.body())
        self.statuses.append((arrived, request.path_params["sha"], str(body.get("state"))))
        return JSONResponse({"id": len(self.statuses), **body}, status_code=201)


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """`app` under uvicorn in this process on a free loopback port; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def pull_request_body(number: int, sha: str) -> bytes:
    """A GitHub `pull_request` `opened` delivery (the shape tests/pipelines/hosts.py uses)."""
    repository = {
        "id": 1,
        "name": "bench",
        "full_name": REPO,
        "html_url": f"https://github.com/{REPO}",
        "clone_url": f"https://github.com/{REPO}.git",
        "default_branch": "main",
        "owner": {"login": "acme", "id": 1},
    }
    payload = {
        "action": "opened",
        "number": number,
        "pull_request": {
            "number": number,
            "title": f"Bench change {number}",
            "state": "open",
            "draft": False,
            "merged": False,
            "html_url": f"https://github.com/{REPO}/pull/{number}",
            "head": {"ref": f"feature-{number}", "sha": sha, "repo": repository},
            "base": {"ref": "main", "sha": "c" * 40, "repo": repository},
            "user": {"login": "octocat", "id": 2},
        },
        "repository": repository,
        "sender": {"login": "octocat", "id": 2},
    }
    return json.dumps(payload).encode()


@dataclass
class Sent:
    delivery_id: str
    sha: str
    body: bytes
    signature: str
    sent_at: float = 0.0
    status: int | str = 0


async def _send_all(url: str, deliveries: list[Sent], rate: float) -> None:
    """Open loop at `rate` a second on average, whether or not earlier ones were answered."""

    async def post(client: httpx.AsyncClient, item: Sent) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": item.delivery_id,
            "X-Hub-Signature-256": item.signature,
            "User-Agent": "GitHub-Hookshot/bench",
        }
        item.sent_at = time.time()
        try:
            response = await client.post(url, content=item.body, headers=headers)
            item.status = response.status_code
        except httpx.HTTPError as error:
            item.status = type(error).__name__

    # Poisson arrivals (seeded): a fixed period would lock step with the workers' polling
    rng = random.Random(7)
    offsets, at = [], 0.0
    for _ in deliveries:
        offsets.append(at)
        at += rng.expovariate(rate)
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for offset, item in zip(offsets, deliveries, strict=True):
            await asyncio.sleep(max(0.0, start + offset - loop.time()))
            tasks.append(asyncio.create_task(post(client, item)))
        await asyncio.gather(*tasks)


async def _latency_run(
    config: Config,
    kind: str,
    url: str,
    directory: Path,
    variant: Variant,
    count: int,
    rate: float,
) -> dict[str, Any]:
    secret = secrets.token_hex(20)
    host = StandIn(pipeline_yaml(1, "noop", "{pull_request: [opened]}").encode())
    deliveries = []
    for index in range(count):
        sha = hashlib.sha256(f"{kind}-{index}-{secret}".encode()).hexdigest()[:40]
        body = pull_request_body(1000 + index, sha)
        host.pulls[1000 + index] = sha
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        deliveries.append(Sent(str(uuid.uuid4()), sha, body, f"sha256={digest}"))
    processes = Processes(directory)
    database_name = BENCH_DATABASE if url.startswith("postgres") else None
    async with serving(host.app()) as api_url:
        env = _env(
            url,
            GITHUB_API_URL=api_url,
            GITHUB_WEBHOOK_SECRET=secret,
            SHIPYARD_DATA_DIR=str(directory / "data"),
            SHIPYARD_PUBLIC_URL="http://shipyard.bench",
            **variant.env(config),
        )
        app = services.Server("app.main:create_app", {**env, "SHIPYARD_LOG_LEVEL": "WARNING"},
                              directory)  # fmt: skip
        try:
            pids = await asyncio.to_thread(start_workers, processes, config.workers, env)
            await asyncio.to_thread(app.start)
            before = cpu_sample(pids, database_name, app.pid)
            await _send_all(f"{app.url}/webhooks/github", deliveries, rate)
            shas = {d.sha for d in deliveries}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if shas <= {sha for _, sha, state in host.statuses if state != "pending"}:
                    break
                await asyncio.sleep(0.05)
            after = cpu_sample(pids, database_name, app.pid)
            stages = await _stages(url, deliveries)
        finally:
            await asyncio.to_thread(processes.stop)
            await asyncio.to_thread(app.stop)
    row = _latency_row(config, kind, variant, rate, deliveries, host, stages)
    used = after.since(before)
    row["cpu_s"] = {name: round(value, 2) for name, value in used.items()}
    row["worker_cpu_ms_per_delivery"] = round(1000 * used["workers"] / count, 1)
    row["app_cpu_ms_per_delivery"] = round(1000 * used["app"] / count, 1)
    row["machine_cpu_pct"] = round(100 * used["machine"] / used["wall"], 1)
    row["other_cpu_pct"] = round(100 * used["other"] / used["wall"], 1)
    return row


async def _stages(url: str, deliveries: list[Sent]) -> dict[str, dict[str, datetime | None]]:
    """Per delivery id: when it was stored, claimed, normalised, and its run created."""
    engine, _ = _sessions(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT d.delivery_id, d.received_at, d.started_at, d.processed_at, "
                        "r.created_at FROM deliveries d "
                        "LEFT JOIN pipeline_runs r ON r.delivery_pk = d.id"
                    ).columns(
                        received_at=DateTime(timezone=True),
                        processed_at=DateTime(timezone=True),
                        **_TIMES,
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return {
        row.delivery_id: {
            "received": row.received_at,
            "started": row.started_at,
            "processed": row.processed_at,
            "created": row.created_at,
        }
        for row in rows
    }


def _latency_row(
    config: Config,
    kind: str,
    variant: Variant,
    rate: float,
    deliveries: list[Sent],
    host: StandIn,
    stages: dict[str, dict[str, datetime | None]],
) -> dict[str, Any]:
    pending: dict[str, float] = {}
    final: dict[str, float] = {}
    for arrived, sha, state in host.statuses:
        target = pending if state == "pending" else final
        target.setdefault(sha, arrived)
    latencies = [1000 * (pending[d.sha] - d.sent_at) for d in deliveries if d.sha in pending]
    finals = [1000 * (final[d.sha] - d.sent_at) for d in deliveries if d.sha in final]
    first = deliveries[0]
    parts: dict[str, list[float | None]] = {
        name: [] for name in ("intake", "wait_1", "process", "wait_2_route", "report")
    }
    for item in deliveries:
        seen = stages.get(item.delivery_id)
        if seen is None:
            continue
        sent = datetime.fromtimestamp(item.sent_at, UTC)
        parts["intake"].append(_ms(seen["received"], sent))
        parts["wait_1"].append(_ms(seen["started"], seen["received"]))
        parts["process"].append(_ms(seen["processed"], seen["started"]))
        parts["wait_2_route"].append(_ms(seen["created"], seen["processed"]))
        if item.sha in pending:
            parts["report"].append(
                _ms(datetime.fromtimestamp(pending[item.sha], UTC), seen["created"])
            )
    p99 = _p(latencies, 99)
    return {
        "database": kind,
        "variant": variant.label,
        "workers": config.workers,
        "worker_options": variant.options(config),
        "poll_delay_s": float(variant.options(config).get("poll_delay", 0.5)),
        "deliveries": len(deliveries),
        "rate": rate,
        "answered": _count(str(d.status) for d in deliveries),
        "pending_seen": len(latencies),
        "final_seen": len(finals),
        "p50_ms": _p(latencies, 50),
        "p95_ms": _p(latencies, 95),
        "p99_ms": p99,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "first_ms": round(1000 * (pending[first.sha] - first.sent_at), 2)
        if first.sha in pending
        else None,
        "config_reads": len(host.reads),
        "final_p50_ms": _p(finals, 50),
        "stages_p50_ms": {name: _p(values, 50) for name, values in parts.items()},
        "stages_p99_ms": {name: _p(values, 99) for name, values in parts.items()},
        "met": p99 is not None and p99 <= PENDING_TARGET_MS and len(latencies) == len(deliveries),
    }


def latency_phase(
    config: Config, kind: str, directory: Path, variant: Variant, count: int, rate: float
) -> dict[str, Any]:
    print(
        f"  latency: {kind}, {count} at {rate:g}/s ({variant.label}) ...",
        file=sys.stderr,
        flush=True,
    )
    flush_redis()
    try:
        with database(kind, directory) as url:
            row = asyncio.run(_latency_run(config, kind, url, directory, variant, count, rate))
    finally:
        flush_redis()
    print(
        f"    pending p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, seen "
        f"{row['pending_seen']}/{row['deliveries']}, machine CPU {row['machine_cpu_pct']} %",
        file=sys.stderr,
        flush=True,
    )
    return row


# --- the whole run ----------------------------------------------------------------------------


def run(config: Config) -> dict[str, Any]:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock = time.perf_counter()
    register_noop()
    engine_rows: list[dict[str, Any]] = []
    latency_rows: list[dict[str, Any]] = []
    profile_dir = RESULTS / f"pipelines-{started.replace('-', '').replace(':', '')}-profiles"
    if config.profile:
        profile_dir.mkdir(parents=True, exist_ok=True)
    last = config.databases[-1]  # what-if passes run on one database: PostgreSQL if chosen
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-pipes-") as temp:
        directory = Path(temp)  # no .env here: Settings see only the environment we give
        directory.chmod(0o711)  # the sandbox's step user passes through to its workspace
        if "engine" in config.parts:
            for kind in config.databases:
                engine_rows.append(
                    engine_phase(config, kind, "noop", config.runs, SHIPPED, directory,
                                 profile_dir)
                )  # fmt: skip
            for kind in config.databases if config.chain_steps > 0 else ():
                alone = replace(config, steps=config.chain_steps)
                engine_rows.append(
                    engine_phase(alone, kind, "noop", 1, SHIPPED, directory, profile_dir)
                )
            for variant in (SHARED_SSL, BOTH_FIXES, THREE_FIXES) if config.what_if else ():
                engine_rows.append(
                    engine_phase(config, last, "noop", config.runs, variant, directory,
                                 profile_dir)
                )  # fmt: skip
            for kind in config.databases if config.reference_runs > 0 else ():
                engine_rows.append(
                    engine_phase(config, kind, "true", config.reference_runs, SHIPPED,
                                 directory, profile_dir)
                )  # fmt: skip
        if "latency" in config.parts:
            for kind in config.databases:
                latency_rows.append(
                    latency_phase(config, kind, directory, SHIPPED, config.deliveries,
                                  config.rate)
                )  # fmt: skip
            if config.what_if:  # the floor as shipped (a quiet machine), then both fixes
                count = min(config.deliveries, WHAT_IF_DELIVERIES)
                latency_rows.append(
                    latency_phase(config, last, directory, SHIPPED, count, WHAT_IF_RATE)
                )
                latency_rows.append(
                    latency_phase(config, last, directory, BOTH_FIXES, config.deliveries,
                                  config.rate)
                )  # fmt: skip
    profiles = [row.pop("profile") for row in engine_rows if "profile" in row]
    return {
        "started_at": started,
        "code": services.code_under_test(),
        "elapsed_s": round(time.perf_counter() - clock, 1),
        "machine": services.machine("arq", "redis", "SQLAlchemy", "asyncpg", "aiosqlite", "httpx"),
        "config": {**asdict(config), "worker_options": config.worker_options},
        "targets": {
            "engine": f"<= {STEP_TARGET_MS:g} ms of worker CPU per no-op step",
            "gap": f"<= {HOP_TARGET_MS:g} ms from a step finished to the next one started (p50)",
            "latency": f"<= {PENDING_TARGET_MS:g} ms from webhook sent to pending status (p99)",
        },
        "engine": engine_rows,
        "latency": latency_rows,
        "profiles": profiles,
    }


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["worker"]:
        worker_main()
        return
    config = parse_args(arguments)
    tree, rest = split_tree(arguments)
    if tree is not None:
        run_in_tree(tree, "bench.pipelines", rest)
    with services.exclusive():
        result = run(config)
    path = write_json(result, RESULTS)
    print(markdown(result))
    print(f"JSON: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
