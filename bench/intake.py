"""`python -m bench.intake`: throughput and latency of `POST /webhooks/github`, full vs bare.

Starts a bare Starlette endpoint (HMAC + JSON only) and the full Shipyard intake on SQLite and
PostgreSQL (Redis db 14 as the queue, no worker), each under uvicorn in its own process, and
loads them from this process. Prints Markdown and writes bench/results/intake-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import signal
import sys
import tempfile
from collections.abc import Coroutine, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

from bench import services
from bench.load import CLIENTS, Measurement, closed_loop, open_loop, poster
from bench.payloads import SignedBody, signed_pool
from bench.report import P99_TARGET_MS, markdown, ratios, write_json

RESULTS = Path(__file__).resolve().parent / "results"
PAYLOAD_SIZES = {"2KB": 2 * 1024, "25KB": 25 * 1024}
BARE_APP = "bench.bare:create_app"
FULL_APP = "app.main:create_app"

T = TypeVar("T")


@dataclass(frozen=True)
class Config:
    requests: int
    duration: float
    concurrency: int
    rate: float
    rate_duration: float
    warmup: int
    pool: int
    databases: tuple[str, ...]
    clients: tuple[str, ...]


_FULL = {"requests": 3000, "duration": 20.0, "rate_duration": 10.0, "warmup": 200, "pool": 500}
_QUICK = {"requests": 300, "duration": 5.0, "rate_duration": 2.0, "warmup": 20, "pool": 50}


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__)
    parser.add_argument("--requests", type=int, help="closed loop: requests per phase (3000)")
    parser.add_argument("--duration", type=float, help="closed loop: max seconds per phase (20)")
    parser.add_argument("--concurrency", type=int, default=50, help="workers and connections (50)")
    parser.add_argument("--rate", type=float, default=200.0, help="fixed-rate phase: req/s (200)")
    parser.add_argument("--rate-duration", type=float, help="fixed-rate phase: seconds (10)")
    parser.add_argument("--warmup", type=int, help="warm-up requests before each phase (200)")
    parser.add_argument("--pool", type=int, help="distinct pre-signed bodies per payload (500)")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database only")
    parser.add_argument(
        "--client",
        choices=[*CLIENTS, "both"],
        default="both",
        help="load generator: httpx, the raw asyncio client, or both in turn (both)",
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
        pool=int(pick["pool"]),
        databases=(args.only,) if args.only else ("sqlite", "postgres"),
        clients=CLIENTS if args.client == "both" else (args.client,),
    )


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the load on uvloop when it is installed (as it is with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def _row(name: str, client: str, payload: str, mode: str, seen: Measurement) -> dict[str, Any]:
    return {"server": name, "client": client, "payload": payload, "mode": mode, **seen.summary()}


def load_server(
    server: services.Server,
    name: str,
    pools: dict[str, list[SignedBody]],
    config: Config,
    *,
    fixed_rate: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per client: closed-loop rows for each payload, then (if `fixed_rate`) fixed-rate rows."""
    url = f"{server.url}/webhooks/github"
    closed: list[dict[str, Any]] = []
    fixed: list[dict[str, Any]] = []

    async def phases(client: str) -> None:
        async with poster(client, url, config.concurrency) as post:
            for payload, pool in pools.items():
                await closed_loop(
                    post, pool, requests=config.warmup, duration=config.duration,
                    concurrency=config.concurrency,
                )  # fmt: skip
                seen = await closed_loop(
                    post, pool, requests=config.requests, duration=config.duration,
                    concurrency=config.concurrency, server_pid=server.pid,
                )  # fmt: skip
                closed.append(_progress(_row(name, client, payload, "closed", seen)))
            for payload, pool in pools.items() if fixed_rate else ():
                seen = await open_loop(
                    post, pool, rate=config.rate, duration=config.rate_duration,
                    server_pid=server.pid,
                )  # fmt: skip
                row = _row(name, client, payload, "fixed-rate", seen)
                row["met"] = row["p99_ms"] < P99_TARGET_MS and row["errors"] == 0
                fixed.append(_progress(row))

    for client in config.clients:
        _run(phases(client))
    return closed, fixed


def _progress(row: dict[str, Any]) -> dict[str, Any]:
    print(
        f"  {row['server']:<13} {row['client']:<5} {row['payload']:<4} {row['mode']:<10} "
        f"{row['rps']:>8} rps  p50 {row['p50_ms']:>7} ms  p99 {row['p99_ms']:>7} ms  "
        f"errors {row['errors']}",
        file=sys.stderr,
        flush=True,
    )
    return row


def run(config: Config) -> dict[str, Any]:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    secret = secrets.token_hex(20)
    print(f"building {config.pool} signed bodies per payload ...", file=sys.stderr)
    pools = {name: signed_pool(size, config.pool, secret) for name, size in PAYLOAD_SIZES.items()}
    closed: list[dict[str, Any]] = []
    fixed: list[dict[str, Any]] = []
    queued: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as temp:
        cwd = Path(temp)  # no .env here: Settings see only the environment we give them
        print("bare endpoint ...", file=sys.stderr)
        env = services.server_env(f"sqlite:///{cwd / 'unused.db'}", secret)
        with services.running(BARE_APP, env, cwd) as server:
            closed += load_server(server, "bare", pools, config, fixed_rate=False)[0]
        for database in config.databases:
            name = f"full-{database}"
            print(f"{name} ...", file=sys.stderr)
            services.flush_redis()
            try:
                with _database(database, cwd) as url:
                    env = services.server_env(url, secret)
                    services.migrate(env, cwd)
                    with services.running(FULL_APP, env, cwd) as server:
                        rows, rate_rows = load_server(server, name, pools, config, fixed_rate=True)
                    closed += rows
                    fixed += rate_rows
                    queued[name] = services.queued_jobs()
            finally:
                services.flush_redis()
    result: dict[str, Any] = {
        "started_at": started,
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "versions": ", ".join(
                f"{name} {version(name)}" for name in ("uvicorn", "starlette", "httpx")
            ),
        },
        "config": asdict(config),
        "targets": {
            "ratio": "full intake keeps at least 1/3 of the bare endpoint's throughput",
            "fixed_rate": f"p99 < {P99_TARGET_MS:g} ms at {config.rate:g} rps",
        },
        "closed": closed,
        "ratios": ratios(closed),
        "fixed_rate": fixed,
        "queued_jobs": queued,
    }
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
    config = parse_args(argv)
    # Ctrl-C raises KeyboardInterrupt; make `kill` unwind the same way, so that every `finally`
    # (uvicorn processes, the bench database, Redis db 14, the temporary directory) runs.
    signal.signal(signal.SIGTERM, _stop)
    result = run(config)
    path = write_json(result, RESULTS)
    print(markdown(result))
    print(f"JSON: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
