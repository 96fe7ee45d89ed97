"""`python -m bench.intake`: throughput and latency of `POST /webhooks/github`: Shipyard's intake
beside a bare endpoint and Probot, in the same run, under the same load.

Starts a bare Starlette endpoint (HMAC + JSON only), Probot (when `node` and `npm` are present;
installed from npm into a cache directory), and the full Shipyard intake on SQLite and on
PostgreSQL + Redis (db 10 as the queue, no worker), each in its own process, and loads them from
wrk (or the bench's own clients) with signed GitHub pushes, each with a fresh delivery id and,
for Shipyard, a body of its own. After each Shipyard phase it counts the stored deliveries
against the 202 answers. Prints Markdown and writes bench/results/intake-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections.abc import Coroutine, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bench import probot, services
from bench.load import CLIENTS, closed_loop, open_loop, poster
from bench.payloads import SignedBody, unique_pool, write_pool_file
from bench.report import markdown, storage_failures, summarise, write_json
from bench.tree import run_in_tree, split_tree
from bench.wrkload import run_wrk, wrk_command

RESULTS = Path(__file__).resolve().parent / "results"
PAYLOAD_SIZES = {"2KB": 2 * 1024, "25KB": 25 * 1024}
BARE_APP = "bench.bare:create_app"
FULL_APP = "app.main:create_app"
POOL_BYTES = 400 * 2**20  # at most this much of unique bodies per payload size
WARM_SECONDS = 2.0  # warm-up of a server that keeps nothing (the others: `--warmup` requests)

T = TypeVar("T")


@dataclass(frozen=True)
class Config:
    requests: int
    duration: float
    concurrency: int
    rate: float
    rate_duration: float
    warmup: int
    payloads: tuple[str, ...]
    databases: tuple[str, ...]
    client: str
    probot: bool
    probot_dir: str
    web_processes: int


_FULL = {"requests": 60000, "duration": 10.0, "rate_duration": 10.0, "warmup": 2000}
_QUICK = {"requests": 5000, "duration": 3.0, "rate_duration": 3.0, "warmup": 300}


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__)
    parser.add_argument(
        "--requests", type=int, help="closed loop: at most this many requests per phase (60000)"
    )
    parser.add_argument("--duration", type=float, help="closed loop: seconds per phase (10)")
    parser.add_argument("--concurrency", type=int, default=50, help="connections (50)")
    parser.add_argument("--rate", type=float, default=200.0, help="fixed-rate phase: req/s (200)")
    parser.add_argument("--rate-duration", type=float, help="fixed-rate phase: seconds (10)")
    parser.add_argument("--warmup", type=int, help="warm-up requests before each phase (2000)")
    parser.add_argument(
        "--payload", choices=[*PAYLOAD_SIZES, "both"], default="2KB", help="body size (2KB)"
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database only")
    parser.add_argument(
        "--client",
        choices=["wrk", *CLIENTS],
        help="closed-loop load generator: wrk (the default when installed), or the bench's "
        "raw asyncio client (the default otherwise), or httpx",
    )
    parser.add_argument("--no-probot", action="store_true", help="leave Probot out")
    parser.add_argument(
        "--probot-dir",
        default=str(probot.default_directory()),
        help="where Probot is installed from npm (~/.cache/shipyard-bench/probot)",
    )
    parser.add_argument(
        "--tree", help="the Shipyard tree to measure, with its own .venv (default: this one)"
    )
    parser.add_argument(
        "--web-processes",
        type=int,
        default=2,
        help="also measure PostgreSQL + Redis with `shipyard serve --workers N` (2; 1: not)",
    )
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args(argv)
    defaults = _QUICK if args.quick else _FULL
    pick = {name: getattr(args, name) for name in defaults}
    pick = {name: defaults[name] if value is None else value for name, value in pick.items()}
    return Config(
        requests=int(pick["requests"]),
        duration=float(pick["duration"]),
        concurrency=args.concurrency,
        rate=args.rate,
        rate_duration=float(pick["rate_duration"]),
        warmup=int(pick["warmup"]),
        payloads=tuple(PAYLOAD_SIZES) if args.payload == "both" else (args.payload,),
        databases=(args.only,) if args.only else ("sqlite", "postgres"),
        client=args.client or ("wrk" if wrk_command() else "raw"),
        probot=not args.no_probot,
        probot_dir=args.probot_dir,
        web_processes=args.web_processes,
    )


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the load on uvloop when it is installed (as it is with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


@dataclass(frozen=True)
class Pools:
    """One payload size's deliveries: no body is in two pools, or twice in one."""

    payload: str
    warm: list[SignedBody]
    closed: list[SignedBody]
    rate: list[SignedBody]
    warm_file: Path
    closed_file: Path


def build_pools(config: Config, secret: str, directory: Path) -> list[Pools]:
    pools = []
    for payload in config.payloads:
        size = PAYLOAD_SIZES[payload]
        closed_count = max(1000, min(config.requests, POOL_BYTES // size))
        rate_count = math.ceil(config.rate * config.rate_duration) + 1
        warm = unique_pool(size, config.warmup, secret, tag=1)
        closed = unique_pool(size, closed_count, secret, tag=2)
        rate = unique_pool(size, rate_count, secret, tag=3)
        warm_file, closed_file = (
            directory / f"warm-{payload}.txt",
            directory / f"closed-{payload}.txt",
        )
        if config.client == "wrk":
            write_pool_file(warm, str(warm_file))
            write_pool_file(closed, str(closed_file))
        pools.append(Pools(payload, warm, closed, rate, warm_file, closed_file))
    return pools


@dataclass(frozen=True)
class Target:
    """A server under load: how it answers success, and whether it stores what it accepts."""

    name: str
    server: services.Server
    ok_status: str = "202"
    database_url: str | None = None  # set: Shipyard, whose 202s are counted against its rows

    @property
    def stores(self) -> bool:
        return self.database_url is not None


def closed_phase(
    target: Target, pool: list[SignedBody], pool_file: Path, config: Config, *,
    requests: int, duration: float, once: bool,
) -> dict[str, Any]:  # fmt: skip
    """One closed-loop phase. `once`: send up to `requests` deliveries of the pool, each once,
    and end when all are answered (what a storing server always gets); otherwise cycle the
    pool (with fresh delivery ids) until `duration` is up."""
    url = f"{target.server.url}/webhooks/github"
    count = min(requests, len(pool)) if once else 0
    if config.client == "wrk":
        return run_wrk(
            url, pool_file, connections=config.concurrency,
            duration=3 * duration + 30 if once else duration, stop_after=count,
            ok_status=target.ok_status, server_pid=target.server.pid,
        )  # fmt: skip

    async def load() -> dict[str, Any]:
        async with poster(config.client, url, config.concurrency) as post:
            seen = await closed_loop(
                post, pool, requests=count or 10**9, duration=duration,
                concurrency=config.concurrency, server_pid=target.server.pid,
                ok_status=target.ok_status,
            )  # fmt: skip
        return seen.summary()

    return _run(load())


def rate_phase(target: Target, pool: list[SignedBody], config: Config) -> dict[str, Any]:
    """The open loop at `config.rate` (always a Python client: wrk has no fixed rate)."""
    client = "raw" if config.client == "wrk" else config.client
    url = f"{target.server.url}/webhooks/github"

    async def load() -> dict[str, Any]:
        async with poster(client, url, config.concurrency) as post:
            seen = await open_loop(
                post, pool, rate=config.rate, duration=config.rate_duration,
                server_pid=target.server.pid, ok_status=target.ok_status,
            )  # fmt: skip
        return seen.summary()

    return _run(load())


def _counted(target: Target, row: dict[str, Any], before: int) -> int:
    """Set `stored` (rows added during the phase) beside the row's 202s; returns the count."""
    assert target.database_url is not None
    now = services.count_deliveries(target.database_url)
    row["stored"] = now - before
    row["stored_ok"] = row["stored"] == row["ok"]
    if not row["stored_ok"]:
        print(
            f"  !! {target.name} {row['mode']}: {row['ok']} answers 202 but {row['stored']} "
            "rows stored: every 202 must be a stored delivery",
            file=sys.stderr,
            flush=True,
        )
    return now


def load_target(target: Target, pools: list[Pools], config: Config) -> list[dict[str, Any]]:
    """Warm-up, closed loop and (Shipyard only) the fixed rate, per payload size."""
    rows: list[dict[str, Any]] = []
    stored = services.count_deliveries(target.database_url) if target.database_url else 0
    for pool in pools:
        base = {"server": target.name, "client": config.client, "payload": pool.payload}
        if target.stores:
            warm = closed_phase(
                target, pool.warm, pool.warm_file, config, requests=config.warmup,
                duration=max(config.duration, 60.0), once=True,
            )  # fmt: skip
        else:
            warm = closed_phase(
                target, pool.closed, pool.closed_file, config, requests=0,
                duration=min(config.duration, WARM_SECONDS), once=False,
            )  # fmt: skip
        warm = {**base, "mode": "warm-up", **warm}
        if target.stores:
            stored = _counted(target, warm, stored)
        rows.append(_progress(warm))
        # a storing server gets the requests it can answer in about `duration` at its
        # warm-up pace, so the phase ends by count with every request answered
        requests = config.requests
        if target.stores and warm["rps"]:
            requests = max(500, min(requests, round(warm["rps"] * config.duration * 1.2)))
        closed = closed_phase(
            target, pool.closed, pool.closed_file, config, requests=requests,
            duration=config.duration, once=target.stores,
        )  # fmt: skip
        closed = {**base, "mode": "closed", **closed}
        if target.stores:
            stored = _counted(target, closed, stored)
        rows.append(_progress(closed))
        if target.stores:
            fixed = rate_phase(target, pool.rate, config)
            fixed = {**base, "mode": "fixed-rate", **fixed}
            fixed["client"] = "raw" if config.client == "wrk" else config.client
            stored = _counted(target, fixed, stored)
            rows.append(_progress(fixed))
    return rows


def _progress(row: dict[str, Any]) -> dict[str, Any]:
    stored = f"  stored {row['stored']}" if "stored" in row else ""
    print(
        f"  {row['server']:<13} {row['client']:<5} {row['payload']:<4} {row['mode']:<10} "
        f"{row['rps']:>8} rps  p50 {row['p50_ms']:>7} ms  p99 {row['p99_ms']:>7} ms  "
        f"ok {row['ok']}  errors {row['errors']}{stored}",
        file=sys.stderr,
        flush=True,
    )
    return row


def _probot(config: Config) -> probot.Probot | str:
    if not config.probot:
        return "left out (--no-probot)"
    print("Probot: preparing (npm install on the first run) ...", file=sys.stderr, flush=True)
    return probot.prepare(Path(config.probot_dir))


def _shipyard_phases(config: Config) -> list[tuple[str, int]]:
    """(database, web processes) of each Shipyard phase: one process on each database, and, on
    a machine with more cores, PostgreSQL + Redis behind `shipyard serve --workers N` (the
    configuration for them; the embedded one runs jobs in its one process). Only for a tree
    whose `serve` has `--workers`."""
    phases = [(database, 1) for database in config.databases]
    if config.web_processes > 1 and "postgres" in config.databases and _serve_has_workers():
        phases.append(("postgres", config.web_processes))
    return phases


def _serve_has_workers() -> bool:
    command = [sys.executable, "-c", "from app.cli import main; main()", "serve", "--help"]
    env = {**os.environ, "PYTHONPATH": services.python_path()}
    shown = subprocess.run(command, capture_output=True, text=True, env=env)
    return "--workers" in shown.stdout


def _serve_command(processes: int) -> list[str]:
    """`shipyard serve --workers N` on loopback, at the PORT the bench's Server gives it."""
    return [
        sys.executable, "-c", "from app.cli import main; main()", "serve",
        "--workers", str(processes), "--no-access-log",
    ]  # fmt: skip


def run(config: Config) -> dict[str, Any]:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    secret = secrets.token_hex(20)
    code = services.code_under_test()
    print(f"code under test: {code}; client: {config.client}", file=sys.stderr)
    peer = _probot(config)
    if isinstance(peer, str):
        print(f"Probot NOT measured: {peer}", file=sys.stderr, flush=True)
    rows: list[dict[str, Any]] = []
    queued: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as temp:
        cwd = Path(temp)  # no .env here: Settings see only the environment we give them
        print("building signed bodies ...", file=sys.stderr, flush=True)
        pools = build_pools(config, secret, cwd)
        env = services.server_env(f"sqlite:///{cwd / 'unused.db'}", secret)
        print("bare endpoint ...", file=sys.stderr, flush=True)
        with services.running(BARE_APP, env, cwd) as server:
            rows += load_target(Target("bare", server), pools, config)
        if not isinstance(peer, str):
            print(f"Probot {peer.version} on node {peer.node} ...", file=sys.stderr, flush=True)
            with services.running("", env, cwd, command=peer.command) as server:
                rows += load_target(Target("probot", server, ok_status="200"), pools, config)
        for database, processes in _shipyard_phases(config):
            name = f"full-{database}" + (f"-x{processes}" if processes > 1 else "")
            print(f"{name} ...", file=sys.stderr, flush=True)
            services.flush_redis()
            try:
                with _database(database, cwd) as url:
                    env = services.server_env(url, secret)
                    services.migrate(env, cwd)
                    command = _serve_command(processes) if processes > 1 else None
                    with services.running(FULL_APP, env, cwd, command=command) as server:
                        rows += load_target(Target(name, server, database_url=url), pools, config)
                    queued[name] = services.queued_jobs()
            finally:
                services.flush_redis()
    result: dict[str, Any] = {
        "started_at": started,
        "code": code,
        "machine": services.machine("uvicorn", "starlette", "httpx"),
        "config": asdict(config),
        "probot": asdict(peer) if not isinstance(peer, str) else {"not_measured": peer},
        "rows": rows,
        "queued_jobs": queued,
    }
    result["targets"] = summarise(result)
    return result


@contextlib.contextmanager
def _database(kind: str, cwd: Path) -> Iterator[str]:
    """An empty database's URL: a SQLite file in `cwd`, or PostgreSQL's `shipyard_bench`."""
    if kind == "postgres":
        with services.bench_database() as url:
            yield url
    else:
        yield f"sqlite:///{cwd / 'shipyard.db'}"


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}; cleaning up")


def main(argv: list[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    config = parse_args(arguments)
    tree, rest = split_tree(arguments)
    if tree is not None:
        run_in_tree(tree, "bench.intake", rest)
    # Ctrl-C raises KeyboardInterrupt; make `kill` unwind the same way, so that every `finally`
    # (the servers, the bench database, Redis db 10, the temporary directory) runs.
    signal.signal(signal.SIGTERM, _stop)
    with services.exclusive():
        result = run(config)
    path = write_json(result, RESULTS)
    print(markdown(result))
    print(f"JSON: {path}", file=sys.stderr)
    failures = storage_failures(result)
    if failures:
        raise SystemExit("stored rows differ from 202 answers: " + "; ".join(failures))


if __name__ == "__main__":
    main()
