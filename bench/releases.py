"""`python -m bench.releases`: releases created per second through `POST /api/v1/releases`, and
the p99 at a fixed rate, beside the intake's own req/s, on one Shipyard server in one run.

One `app.main:create_app` under uvicorn on PostgreSQL, Redis db 10 as the queue (no worker:
each new release's job waits there, as in bench.intake), GitHub's API pointed at a tiny local
server that counts what it is asked (a host call on the hot path would show there). Before the
clock starts the bench makes a service account (`release-creator` on `acme/*`) and fills the
image → repository index for `acme/web` as a config read would, so a release costs the token's
lookup, the INSERT … ON CONFLICT and no host call. Every release body is different (its own
name and digests). Phases, each after a warm-up: the releases closed loop (50 connections),
the releases at a fixed rate (100/s), then the intake's closed loop (signed GitHub pushes, as
bench.intake sends them). Every 201 is counted against the rows of `releases`. Prints
Markdown and writes bench/results/releases-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import secrets
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench import services
from bench.intake import FULL_APP, _run, _serve_command
from bench.load import Measurement, closed_loop, open_loop, poster
from bench.payloads import SignedBody, unique_pool
from bench.rawhttp import RawClient

RESULTS = Path(__file__).resolve().parent / "results"
REPOSITORY = "acme/web"
RELEASES_TARGET = 500.0  # releases/s, closed loop, PostgreSQL
P99_TARGET_MS = 50.0  # at the fixed rate
PATH = "/api/v1/releases"


@dataclass(frozen=True)
class Config:
    requests: int
    duration: float
    concurrency: int
    rate: float
    rate_duration: float
    warmup: int
    web_processes: int


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.releases", description=__doc__)
    parser.add_argument("--requests", type=int, default=20000, help="closed loop: at most (20000)")
    parser.add_argument("--duration", type=float, default=10.0, help="closed loop: seconds (10)")
    parser.add_argument("--concurrency", type=int, default=50, help="connections (50)")
    parser.add_argument("--rate", type=float, default=100.0, help="fixed rate: req/s (100)")
    parser.add_argument("--rate-duration", type=float, default=10.0, help="fixed rate: s (10)")
    parser.add_argument("--warmup", type=int, default=1000, help="warm-up requests (1000)")
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        help="`shipyard serve --workers N` instead of one uvicorn process (1)",
    )
    parser.add_argument("--quick", action="store_true", help="3 s phases, 300 warm-up")
    args = parser.parse_args(argv)
    quick = args.quick
    return Config(
        requests=args.requests,
        duration=3.0 if quick else args.duration,
        concurrency=args.concurrency,
        rate=args.rate,
        rate_duration=3.0 if quick else args.rate_duration,
        warmup=300 if quick else args.warmup,
        web_processes=args.web_processes,
    )


class _Host(BaseHTTPRequestHandler):
    """The Git host: 404 to everything, each request counted."""

    asked: list[str] = []

    def _answer(self) -> None:
        _Host.asked.append(f"{self.command} {self.path}")
        body = b'{"message": "Not Found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *_args: object) -> None:
        return


@contextlib.contextmanager
def fake_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def release_bodies(count: int, tag: str) -> list[SignedBody]:
    """`count` different release bodies (the seed's shape; a name, commit and digests each)."""
    bodies = []
    for number in range(count):
        name = f"bench-{tag}-{number}"
        body = {
            "name": name,
            "components": [
                {"componentId": "web", "digest": _digest(f"web {name}")},
                {"componentId": "worker", "digest": _digest(f"worker {name}")},
            ],
            "sourceRef": {
                "type": "git",
                "repository": f"https://github.com/{REPOSITORY}",
                "commit": hashlib.sha1(name.encode()).hexdigest(),  # noqa: S324 (a name)
                "tag": name,
                "branch": "main",
            },
            "metadata": {"buildId": str(number), "triggeredBy": "bench"},
        }
        bodies.append(SignedBody(json.dumps(body).encode(), ""))
    return bodies


async def _prepare(database_url: str) -> str:
    """The account's token, and acme/web's components in the index (as a config read leaves
    them). Through Shipyard's own functions, against the bench's database."""
    from app.accounts import create_account
    from app.db.engine import create_engine, session_factory
    from app.releases import images
    from app.releases.config import ComponentSpec
    from app.settings import Settings

    settings = Settings(_env_file=None, DATABASE_URL=database_url)  # type: ignore[call-arg]
    engine = create_engine(settings)
    try:
        sessions = session_factory(engine)
        _account, token = await create_account(
            sessions, name="bench-ci", roles=["release-creator"], repositories=["acme/*"]
        )
        components = {
            "web": ComponentSpec(image="registry.example.com/acme/web"),
            "worker": ComponentSpec(image="registry.example.com/acme/worker"),
        }
        await images.remember_components(sessions, "github", REPOSITORY, components, None)
    finally:
        await engine.dispose()
    return token


async def _count_releases(database_url: str) -> int:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM releases"))
    finally:
        await connection.close()


def _releases_phase(
    server: services.Server, token: str, pool: list[SignedBody], config: Config, *, fixed: bool
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def load() -> Measurement:
        raw = RawClient("127.0.0.1", server.port, connections=config.concurrency)

        async def post(signed: SignedBody) -> str:
            try:
                return str(await raw.post(PATH, headers, signed.body))
            except (OSError, EOFError, TimeoutError, ValueError) as error:
                return type(error).__name__

        try:
            if fixed:
                return await open_loop(
                    post, pool, rate=config.rate, duration=config.rate_duration,
                    server_pid=server.pid, ok_status="201",
                )  # fmt: skip
            return await closed_loop(
                post, pool, requests=len(pool), duration=config.duration,
                concurrency=config.concurrency, server_pid=server.pid, ok_status="201",
            )  # fmt: skip
        finally:
            await raw.aclose()

    return _run(load()).summary()


def _intake_phase(server: services.Server, pool: list[SignedBody], config: Config) -> Any:
    async def load() -> Measurement:
        url = f"{server.url}/webhooks/github"
        async with poster("raw", url, config.concurrency) as post:
            return await closed_loop(
                post, pool, requests=len(pool), duration=config.duration,
                concurrency=config.concurrency, server_pid=server.pid,
            )  # fmt: skip

    return _run(load()).summary()


def _progress(name: str, row: dict[str, Any]) -> dict[str, Any]:
    print(
        f"  {name:<22} {row['rps']:>8} req/s  p50 {row['p50_ms']:>7} ms  "
        f"p99 {row['p99_ms']:>7} ms  ok {row['ok']}  errors {row['errors']} "
        f"{row.get('error_kinds') or ''}",
        file=sys.stderr,
        flush=True,
    )
    return {"phase": name, **row}


def measure(config: Config, cwd: Path, database_url: str, host_url: str) -> dict[str, Any]:
    secret = secrets.token_hex(20)
    env = services.server_env(database_url, secret)
    env.update(GITHUB_TOKEN=secrets.token_hex(8), GITHUB_API_URL=host_url)  # the fake host
    services.migrate(env, cwd)
    token = asyncio.run(_prepare(database_url))
    expected = round(config.duration * 2000) + 1
    warm = release_bodies(config.warmup, "warm")
    closed = release_bodies(min(config.requests, expected), "closed")
    fixed = release_bodies(round(config.rate * config.rate_duration) + 1, "fixed")
    pushes = unique_pool(2 * 1024, min(config.requests, expected), secret, tag=7)
    intake_warm = unique_pool(2 * 1024, config.warmup, secret, tag=8)
    before = asyncio.run(_count_releases(database_url))
    command = _serve_command(config.web_processes) if config.web_processes > 1 else None
    with services.running(FULL_APP, env, cwd, command=command) as server:
        phases = [
            ("releases warm-up", lambda: _releases_phase(server, token, warm, config, fixed=False)),
            (
                "releases closed",
                lambda: _releases_phase(server, token, closed, config, fixed=False),
            ),
            (
                "releases fixed-rate",
                lambda: _releases_phase(server, token, fixed, config, fixed=True),
            ),
            ("intake warm-up", lambda: _intake_phase(server, intake_warm, config)),
            ("intake closed", lambda: _intake_phase(server, pushes, config)),
        ]
        rows = [_progress(name, phase()) for name, phase in phases]
    stored = asyncio.run(_count_releases(database_url)) - before
    created = sum(row["ok"] for row in rows if row["phase"].startswith("releases"))
    return {"rows": rows, "releases_stored": stored, "releases_201": created}


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = {row["phase"]: row for row in result["rows"]}
    closed, fixed, intake = (
        rows["releases closed"],
        rows["releases fixed-rate"],
        rows["intake closed"],
    )
    return [
        {
            "figure": "releases/s, closed loop (PostgreSQL)",
            "value": closed["rps"],
            "target": f">= {RELEASES_TARGET:g}",
            "met": closed["rps"] >= RELEASES_TARGET and not closed["errors"],
        },
        {
            "figure": f"p99 at {result['config']['rate']:g} releases/s (ms)",
            "value": fixed["p99_ms"],
            "target": f"<= {P99_TARGET_MS:g}",
            "met": fixed["p99_ms"] <= P99_TARGET_MS and not fixed["errors"],
        },
        {
            "figure": "intake req/s, closed loop (same server)",
            "value": intake["rps"],
            "target": "-",
            "met": None,
        },
        {
            "figure": "releases stored = 201 answers",
            "value": f"{result['releases_stored']} / {result['releases_201']}",
            "target": "equal",
            "met": result["releases_stored"] == result["releases_201"],
        },
        {
            "figure": "Git host requests during the run",
            "value": len(result["host_requests"]),
            "target": "0",
            "met": not result["host_requests"],
        },
    ]


def markdown(result: dict[str, Any]) -> str:
    def yes(met: bool | None) -> str:
        return "-" if met is None else ("yes" if met else "**NO**")

    lines = [
        f"# bench.releases — {result['started_at']}",
        "",
        f"code: {result['code']}; {result['machine']['cpus']} cpus; "
        f"web processes: {result['config']['web_processes']}",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
        *(
            f"| {t['figure']} | {t['value']} | {t['target']} | {yes(t['met'])} |"
            for t in result["targets"]
        ),
        "",
        "| phase | req/s | p50 ms | p99 ms | ok | errors | server CPU % | client CPU % | "
        "postgres CPU % | other CPU % | server CPU ms/req |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['phase']} | {row['rps']} | {row['p50_ms']} | {row['p99_ms']} | "
            f"{row['ok']} | {row['errors']} | {row.get('server_cpu_pct', '-')} | "
            f"{row.get('client_cpu_pct', '-')} | {row.get('postgres_cpu_pct', '-')} | "
            f"{row.get('other_cpu_pct', '-')} | {row.get('server_cpu_ms_per_request', '-')} |"
        )
    return "\n".join(lines)


def run(config: Config) -> dict[str, Any]:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    code = services.code_under_test()
    print(f"code under test: {code}", file=sys.stderr)
    _Host.asked.clear()
    services.flush_redis()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="shipyard-bench-") as temp,
            services.bench_database() as database_url,
            fake_host() as host_url,
        ):
            measured = measure(config, Path(temp), database_url, host_url)
    finally:
        services.flush_redis()
    result: dict[str, Any] = {
        "started_at": started,
        "code": code,
        "machine": services.machine(),
        "config": asdict(config),
        **measured,
        "host_requests": list(_Host.asked),
    }
    result["targets"] = summarise(result)
    return result


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}; cleaning up")


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    with services.exclusive():
        result = run(config)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace("-", "").replace(":", "")
    path = RESULTS / f"releases-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"JSON: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
