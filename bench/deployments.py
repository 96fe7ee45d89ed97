"""`python -m bench.deployments`: Shipyard's deployment engine fanning one command out over SSH,
beside Ansible in the same run against the same sshd, and the engine's own cost per task.

1. SSH fan-out: one Debian sshd on loopback (a host key and a user key made for the run), 50
   targets (50 inventory entries for Ansible, 50 ssh targets for Shipyard, each with a work dir
   of its own), `echo ok` on each, 10 at a time. Shipyard: a release promoted into an
   environment of those targets with `strategy: {type: rolling, parallelism: 10}`, run to the
   job's end in this process (in-process jobs) on PostgreSQL and on SQLite. Ansible: `ansible
   all -m shell -a 'echo ok' -f 10` (bench/deploy_ansible.py says how it is set up). Rounds
   alternate the tools; warm-up rounds are not counted. Wall time from `promote` (Ansible:
   from the command's start) to the end.
2. Engine overhead: 200 command targets whose executor (in this process only) returns at once,
   promoted all at once and rolling 10 at a time, on both databases: wall and this process's
   CPU time per task, and the database work per task.

Prints Markdown and writes bench/results/deployments-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bench import services
from bench.deploy_ansible import Ansible, find_ansible
from bench.deploy_report import markdown, summarise
from bench.deploy_rounds import (
    FANOUT,
    NOOP,
    Rounds,
    fanout_rounds,
    overhead_rounds,
    target_names,
)
from bench.deploy_sshd import require_sshd, running_sshd

if TYPE_CHECKING:
    from app.services import Services

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")


@dataclass(frozen=True)
class Config:
    repeats: int
    warmup: int
    targets: int
    parallelism: int
    command: str
    tasks: int
    databases: tuple[str, ...]
    parts: tuple[str, ...]
    max_startups: str | None
    user_rc: bool
    pipelining: bool
    profile: bool


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m bench.deployments",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeats", type=int, default=3, help="measured rounds (3)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds first (1)")
    parser.add_argument("--targets", type=int, default=50, help="SSH fan-out: targets (50)")
    parser.add_argument("--parallelism", type=int, default=10, help="at a time, both tools (10)")
    parser.add_argument("--command", default="echo ok", help="what runs on each target")
    parser.add_argument("--tasks", type=int, default=200, help="engine overhead: tasks (200)")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database only")
    parser.add_argument("--part", choices=["ssh", "overhead"], help="one part only")
    parser.add_argument(
        "--max-startups", help="sshd's MaxStartups for the run (default: Debian's, 10:30:100)"
    )
    parser.add_argument(
        "--user-rc",
        action="store_true",
        help="let every SSH session source the login user's ~/.bashrc (default: skipped)",
    )
    parser.add_argument(
        "--no-pipelining",
        action="store_true",
        help="Ansible without pipelining (a temporary module file per host, as it ships)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy on one more all-at-once no-op round"
    )
    parser.add_argument("--quick", action="store_true", help="1 round, no warm-up, 100 tasks")
    args = parser.parse_args(argv)
    return Config(
        repeats=1 if args.quick else args.repeats,
        warmup=0 if args.quick else args.warmup,
        targets=args.targets,
        parallelism=args.parallelism,
        command=args.command,
        tasks=100 if args.quick else args.tasks,
        databases=(args.only,) if args.only else ("postgres", "sqlite"),
        parts=(args.part,) if args.part else ("ssh", "overhead"),
        max_startups=args.max_startups,
        user_rc=args.user_rc,
        pipelining=not args.no_pipelining,
        profile=args.profile,
    )


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """On uvloop when it is installed, as `shipyard serve` (uvicorn) runs the in-process jobs."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def _environments(config: Config, rounds: Rounds) -> dict[str, Any]:
    environments: dict[str, Any] = {}
    if rounds.fanout:
        strategy = f"{{type: rolling, parallelism: {config.parallelism}}}"
        environments[FANOUT] = {
            "targets": rounds.fanout, "strategy": strategy, "command": config.command,
        }  # fmt: skip
    for name, strategy in NOOP.items() if rounds.noop else ():
        environments[name] = {"targets": rounds.noop, "strategy": strategy}
    return environments


async def measure(
    config: Config, rounds: Rounds, urls: dict[str, str], temp: Path, profiles: Path | None
) -> list[Any]:
    """Shipyard's services on each database (migrated), the targets registered, then the parts."""
    from bench.deploy_shipyard import BenchHost, bench_settings, opened, repo_config

    host = BenchHost(repo_config(_environments(config, rounds)))
    rows: list[dict[str, Any]] = []
    async with contextlib.AsyncExitStack() as stack:
        by_database: dict[str, Services] = {}
        for database, url in urls.items():
            settings = bench_settings(url, temp / f"data-{database}")
            by_database[database] = await stack.enter_async_context(opened(settings, host))
            await rounds.register_targets(by_database[database])
        if "ssh" in config.parts:
            print("SSH fan-out:", file=sys.stderr)
            rows += await fanout_rounds(rounds, by_database, config.warmup, config.repeats)
        if "overhead" in config.parts:
            print("Engine overhead (no-op executor):", file=sys.stderr)
            rows += await overhead_rounds(
                rounds, by_database, config.warmup, config.repeats, profiles
            )
        rows.append({"part": "host", "calls": dict(host.calls)})
    return rows


def run(config: Config) -> dict[str, Any]:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    code = services.code_under_test()
    print(f"code under test: {code}", file=sys.stderr)
    ssh = "ssh" in config.parts
    binary = find_ansible() if ssh else None
    if ssh:
        require_sshd()
    versions = ("asyncssh", "SQLAlchemy", "asyncpg", "uvloop", "ansible-core")
    result: dict[str, Any] = {
        "started_at": started,
        "code": code,
        "machine": services.machine(*versions),
        "config": asdict(config),
    }
    with contextlib.ExitStack() as stack:
        temp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shipyard-bench-")))
        sshd = ansible = None
        if ssh and binary is not None:
            sshd = stack.enter_context(running_sshd(config.max_startups, user_rc=config.user_rc))
            names = target_names(config.targets)
            ansible = Ansible(binary, sshd, names, temp / "ansible", pipelining=config.pipelining)
            result["sshd"] = {"max_startups": sshd.max_startups, "user_rc": sshd.user_rc}
            result["ansible"] = {
                "version": ansible.version(),
                "command": ansible.command(config.command, config.parallelism),
                "config": ansible.config.read_text(),
                "startup_s": round(min(ansible.startup_seconds() for _ in range(3)), 3),
            }
        noop = [f"noop-{n:03d}" for n in range(config.tasks)] if "overhead" in config.parts else []
        fanout = target_names(config.targets) if ssh else []
        rounds = Rounds(
            sshd, ansible, fanout, noop, command=config.command, parallelism=config.parallelism
        )
        urls: dict[str, str] = {}
        env = services.server_env("", secrets.token_hex(8))
        for database in config.databases:
            if database == "postgres":
                urls[database] = stack.enter_context(services.bench_database())
            else:
                urls[database] = f"sqlite:///{temp / 'bench.db'}"
            services.migrate({**env, "DATABASE_URL": urls[database]}, temp)
        profiles = None
        if config.profile:
            stamp = started.replace("-", "").replace(":", "")
            profiles = RESULTS / f"deployments-{stamp}-profiles"
            profiles.mkdir(parents=True, exist_ok=True)
            result["profiles"] = str(profiles)
        result["rows"] = _run(measure(config, rounds, urls, temp, profiles))
    result["targets"] = summarise(result)
    return result


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}; cleaning up")


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    clock = time.perf_counter()
    with services.exclusive():
        result = run(config)
    result["seconds"] = round(time.perf_counter() - clock, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace("-", "").replace(":", "")
    path = RESULTS / f"deployments-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"JSON: {path}", file=sys.stderr)
    if not all(row["ok"] == row["expected"] for row in result["rows"] if "ok" in row):
        raise SystemExit("some runs did not deploy to every target: see the report")


if __name__ == "__main__":
    main()
