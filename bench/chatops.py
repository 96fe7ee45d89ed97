"""`python -m bench.chatops`: how long a `/deploy` comment takes to get its `eyes` reaction from
Shipyard (a uvicorn web process and a `shipyard worker` on PostgreSQL + Redis, as in
production) and from Probot (an app that only reacts), and what Shipyard asks of the Git host
for one `/deploy`, call by call.

A GitHub stand-in in a process of its own (bench/chatops_host.py) answers both and stamps each
call's arrival; latency = the `eyes` reaction's arrival - the signed delivery's send (one
machine, one clock). Shipyard's `/deploy staging` really deploys: a command target
`bench-local` (`true`) registered with `shipyard targets add`, steps unsandboxed. Prints
Markdown and writes bench/results/chatops-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import redis

from bench import probot, services
from bench.chatops_deliveries import Command, commands, send
from bench.chatops_report import TERMINAL_JOB_STATES, latency_summary, markdown, summarise
from bench.cpu import machine_seconds
from bench.tree import run_in_tree, split_tree

RESULTS = Path(__file__).resolve().parent / "results"
REDIS_URL = "redis://127.0.0.1:6379/11"  # this bench's own; flushed before and after
QUEUE_NAME = "shipyard"  # Settings.queue_name's default
FULL_APP = "app.main:create_app"
HOST_APP = "bench.chatops_host:create_app"
PROBOT_APP = Path(__file__).resolve().parent / "probot" / "chatops.mjs"
TOKEN = "ghp_chatops_bench_token"  # noqa: S105 (the stand-in's, not a secret)
TARGET = "bench-local"
REPO_CONFIG = f"environments:\n  staging:\n    targets: [{TARGET}]\n"
TEXT = "/deploy staging"
QUIET_S = 1.5  # a single /deploy is over once the host has heard nothing for this long
STOP_WAIT = 10.0


@dataclass(frozen=True)
class Config:
    commands: int
    rate: float
    warmup: int
    timeout: float
    drain: float
    probot: bool
    probot_dir: str
    probot_throttle: bool
    workers: int = 1
    intake: bool = False  # SHIPYARD_INTAKE_QUEUE, and one `shipyard worker --intake` more

    def first_pull_request(self, phase: str) -> int:
        """The number of a phase's first pull request: no two commands of a run share a pull
        request, a commit or a comment."""
        order = [("cold", 1), ("warm", 1), ("shipyard-warmup", self.warmup),
                 ("shipyard", self.commands), ("probot-warmup", self.warmup),
                 ("probot", self.commands)]  # fmt: skip
        first = 1
        for name, count in order:
            if name == phase:
                return first
            first += count
        raise ValueError(f"no phase {phase!r}")


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chatops",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--commands", type=int, help="measured commands per side (200)")
    parser.add_argument(
        "--rate", type=float, default=2.0, help="commands per second, Poisson arrivals (2)"
    )
    parser.add_argument("--warmup", type=int, help="unmeasured commands first, per side (10)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the last eyes (60)"
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=120.0,
        help="seconds to wait for Shipyard's queued deployments to end, after the eyes (120)",
    )
    parser.add_argument("--no-probot", action="store_true", help="leave Probot out")
    parser.add_argument(
        "--probot-dir",
        default=str(probot.default_directory()),
        help="where Probot is installed from npm (~/.cache/shipyard-bench/probot)",
    )
    parser.add_argument(
        "--probot-throttle",
        action="store_true",
        help="Probot's Octokit as it ships: writes at least 1 s apart (default: throttle off)",
    )
    parser.add_argument("--workers", type=int, default=1, help="`shipyard worker` processes (1)")
    parser.add_argument(
        "--intake",
        action="store_true",
        help="SHIPYARD_INTAKE_QUEUE=true and a `shipyard worker --intake` beside the workers",
    )
    parser.add_argument(
        "--tree", help="the Shipyard tree to measure, with its own .venv (default: this one)"
    )
    parser.add_argument("--quick", action="store_true", help="40 commands, 5 warm-up")
    args = parser.parse_args(argv)
    count = args.commands if args.commands is not None else (40 if args.quick else 200)
    warmup = args.warmup if args.warmup is not None else (5 if args.quick else 10)
    if count < 1 or warmup < 0 or args.rate <= 0 or args.workers < 1:
        parser.error("--commands and --workers must be >= 1, --warmup >= 0 and --rate > 0")
    return Config(
        commands=count,
        rate=args.rate,
        warmup=warmup,
        timeout=args.timeout,
        drain=args.drain,
        probot=not args.no_probot,
        probot_dir=args.probot_dir,
        probot_throttle=args.probot_throttle,
        workers=args.workers,
        intake=args.intake,
    )


# --- processes, Redis db 11, the database -----------------------------------------------------


def flush_redis() -> None:
    with redis.Redis.from_url(REDIS_URL, socket_timeout=5) as client:
        client.flushdb()


def _clean_env() -> dict[str, str]:
    """This process's environment without any Git host's or Shipyard's settings."""
    prefixes = ("SHIPYARD_", "GITHUB_", "GITLAB_", "GITEA_", "ANTHROPIC_")
    dropped = ("DATABASE_URL", "REDIS_URL", "PORT")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k not in dropped}


def shipyard_env(database_url: str, secret: str, api_url: str, data_dir: Path) -> dict[str, str]:
    """Shipyard's processes' settings: PostgreSQL, Redis db 11, a GitHub token on the stand-in,
    steps unsandboxed (SHIPYARD_STEP_SANDBOX=none: the deploy command is `true`)."""
    return {
        **_clean_env(),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": api_url,
        "GITHUB_WEBHOOK_SECRET": secret,
        "SHIPYARD_DATA_DIR": str(data_dir),
        "SHIPYARD_STEP_SANDBOX": "none",
        "SHIPYARD_PUBLIC_URL": "http://shipyard.bench",
        "SHIPYARD_LOG_LEVEL": "WARNING",
        "PYTHONPATH": services.python_path(),
    }


def _shipyard(*args: str) -> list[str]:
    """`shipyard ARGS` through this interpreter (so it works in any virtualenv)."""
    return [sys.executable, "-c", "from app.cli import main; main()", *args]


def add_target(env: dict[str, str], cwd: Path) -> str:
    """`shipyard targets add bench-local --type command --command true --repos 'github:acme/*'`."""
    command = _shipyard(
        "targets",
        "add",
        TARGET,
        "--type",
        "command",
        "--command",
        "true",
        "--repos",
        "github:acme/*",
    )
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`shipyard targets add` failed:\n{done.stderr[-3000:]}")
    return " ".join(["shipyard", *command[3:]])


@contextlib.contextmanager
def workers(
    count: int, env: dict[str, str], cwd: Path, timeout: float = 60.0, *, intake: bool = False
) -> Iterator[list[int]]:
    """`count` `shipyard worker` processes (and a `shipyard worker --intake` with `intake`),
    started one after another, each once it has opened its services (it sets a marker in Redis
    then; the bench clears it for the next one); their pids."""
    started: list[subprocess.Popen[bytes]] = []
    marker = f"{QUEUE_NAME}:remembers"
    commands = [("worker",)] * count + ([("worker", "--intake")] if intake else [])
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=5) as client:
            for index, arguments in enumerate(commands):
                client.delete(marker)
                log_path = cwd / f"worker-{index}.log"
                with log_path.open("wb") as log:
                    process = subprocess.Popen(
                        _shipyard(*arguments),
                        env=env,
                        cwd=cwd,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                started.append(process)
                deadline = time.monotonic() + timeout
                while not client.exists(marker):
                    if process.poll() is not None or time.monotonic() > deadline:
                        tail = log_path.read_text(errors="replace")[-3000:]
                        raise RuntimeError(f"`shipyard worker` did not start:\n{tail}")
                    time.sleep(0.05)
        yield [process.pid for process in started]
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_WAIT)


def _log_tails(cwd: Path) -> str:
    return "\n".join(
        f"{path.name}:\n{path.read_text(errors='replace')[-3000:]}"
        for path in sorted(cwd.glob("worker-*.log"))
    )


async def _job_states(database_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT state, count(*) AS n FROM deployment_jobs GROUP BY state"
        )
    finally:
        await connection.close()
    return {str(row["state"]): int(row["n"]) for row in rows}


def job_states(database_url: str) -> dict[str, int]:
    """Shipyard's deployment jobs by state."""
    return asyncio.run(_job_states(database_url))


# --- CPU, from /proc --------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """A process's CPU seconds, with those of the children it reaped (the deploy's `true`)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / _TICKS


_SERVERS = {"postgres": "postgres", "redis-server": "redis"}


def _servers_seconds() -> dict[str, float]:
    """CPU seconds of every PostgreSQL process (every database's: the machine has one server)
    and of Redis."""
    used = dict.fromkeys(_SERVERS.values(), 0.0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                text = stat.read()
        except OSError:  # it exited meanwhile
            continue
        group = _SERVERS.get(text[text.index("(") + 1 : text.rindex(")")])
        if group is not None:
            fields = text.rpartition(")")[2].split()
            used[group] += (int(fields[11]) + int(fields[12])) / _TICKS
    return used


@dataclass(frozen=True)
class CpuSample:
    wall: float
    machine: float
    processes: dict[str, float]

    @classmethod
    def take(cls, pids: dict[str, int]) -> CpuSample:
        used = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        used["bench"] = time.process_time()
        used.update(_servers_seconds())
        return cls(time.perf_counter(), machine_seconds(), used)

    def since(self, before: CpuSample, count: int) -> dict[str, Any]:
        """CPU ms per command of each process (the bench's own, PostgreSQL's and Redis's too),
        and the machine's busy % and what else used it (`other_pct`), in % of one core."""
        wall = max(self.wall - before.wall, 1e-9)
        used = {
            name: self.processes[name] - before.processes.get(name, 0.0) for name in self.processes
        }
        machine = self.machine - before.machine
        return {
            "ms_per_command": {
                name: round(1000 * seconds / count, 2) for name, seconds in used.items()
            },
            "machine_pct": round(100 * machine / wall, 1),
            "other_pct": round(100 * max(0.0, machine - sum(used.values())) / wall, 1),
        }


# --- the stand-in's records -------------------------------------------------------------------


@dataclass
class Host:
    """The GitHub stand-in's process, and the calls read from its records so far (each is
    fetched once)."""

    url: str
    _read: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def tell(self, sent: list[Command]) -> None:
        answer = httpx.post(f"{self.url}/_bench/comments", json=[c.told() for c in sent])
        answer.raise_for_status()

    def mark(self) -> int:
        """Where the calls from now on start."""
        return len(self.calls(0))

    def calls(self, since: int) -> list[dict[str, Any]]:
        """Every call the stand-in took from the `since`-th on."""
        params = {"since": len(self._read)}
        answer = httpx.get(f"{self.url}/_bench/calls", params=params, timeout=30)
        answer.raise_for_status()
        self._read += answer.json()["calls"]
        return self._read[since:]


def _eyes(calls: list[dict[str, Any]]) -> dict[int, float]:
    """Comment id -> when its first `eyes` reaction arrived."""
    seen: dict[int, float] = {}
    for call in calls:
        if call.get("content") == "eyes" and "comment_id" in call:
            seen.setdefault(call["comment_id"], call["at"])
    return seen


def _replies(calls: list[dict[str, Any]]) -> dict[int, float]:
    """Pull request number -> when the first reply comment was posted on it."""
    seen: dict[int, float] = {}
    for call in calls:
        if call["method"] == "POST" and call["template"].endswith("/{number}/comments"):
            seen.setdefault(call["number"], call["at"])
    return seen


def _reply_ms(sent: list[Command], calls: list[dict[str, Any]]) -> list[float | None]:
    """Per command, the time to its reply comment (None: not seen among `calls`)."""
    replies = _replies(calls)
    return [
        round(1000 * (replies[c.number] - c.sent_at), 2) if c.number in replies else None
        for c in sent
    ]


def _wait_eyes(host: Host, since: int, sent: list[Command], timeout: float) -> None:
    wanted = {command.comment_id for command in sent}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wanted <= set(_eyes(host.calls(since))):
            return
        time.sleep(0.2)


# --- the phases -------------------------------------------------------------------------------


def latency_phase(
    side: str,
    host: Host,
    webhook_url: str,
    secret: str,
    config: Config,
    pids: dict[str, int],
    *,
    warmup: bool = False,
) -> dict[str, Any]:
    """`config.commands` (or `config.warmup`) commands at `config.rate`, each to its own pull
    request; the time to each one's `eyes`, and the calls the host took meanwhile."""
    name = f"{side}-warmup" if warmup else side
    count = config.warmup if warmup else config.commands
    sent = commands(secret, config.first_pull_request(name), count, TEXT)
    host.tell(sent)
    since = host.mark()
    before = CpuSample.take(pids)
    asyncio.run(send(webhook_url, sent, config.rate))
    _wait_eyes(host, since, sent, config.timeout)
    cpu = CpuSample.take(pids).since(before, count)
    calls = host.calls(since)
    eyes = _eyes(calls)
    row: dict[str, Any] = {
        "side": side,
        "phase": "warm-up" if warmup else "measured",
        "commands": count,
        "rate": config.rate,
        "answers": _count(str(command.answer) for command in sent),
        "eyes_ms": [
            round(1000 * (eyes[c.comment_id] - c.sent_at), 2) if c.comment_id in eyes else None
            for c in sent
        ],
        "reply_ms": _reply_ms(sent, calls),
        "host_calls": len(calls),
        "cpu": cpu,
        "_since": since,
        "_sent": sent,
        "_eyes": eyes,
    }
    _progress(row)
    return row


_KEPT = ("method", "template", "path", "status", "content", "context", "state", "description")


def single_deploy(
    label: str, host: Host, webhook_url: str, secret: str, database_url: str, config: Config
) -> dict[str, Any]:
    """One `/deploy` alone, run to its end: every deployment job ended, the reply posted, and
    then the host quiet for QUIET_S. Every call the host took meanwhile, in order."""
    sent = commands(secret, config.first_pull_request(label), 1, TEXT)
    host.tell(sent)
    since = host.mark()
    asyncio.run(send(webhook_url, sent, 1.0))
    deadline = time.monotonic() + config.timeout
    ended = False
    while time.monotonic() < deadline:
        calls = host.calls(since)
        replied = sent[0].number in _replies(calls)
        states = job_states(database_url)
        if replied and states and set(states) <= TERMINAL_JOB_STATES:
            quiet_for = time.time() - max(call["at"] for call in calls)
            if quiet_for >= QUIET_S:
                ended = True
                break
        time.sleep(0.1)
    calls = host.calls(since)
    eyes = _eyes(calls).get(sent[0].comment_id)
    row = {
        "label": label,
        "ended": ended,
        "answer": sent[0].answer,
        "eyes_ms": round(1000 * (eyes - sent[0].sent_at), 2) if eyes else None,
        "jobs": job_states(database_url),
        "calls": [
            {key: value for key, value in call.items() if key in _KEPT}
            | {"after_ms": round(1000 * (call["at"] - sent[0].sent_at), 1)}
            for call in calls
        ],
    }
    print(
        f"  {label} /deploy: eyes {row['eyes_ms']} ms, {len(calls)} host calls, jobs "
        f"{row['jobs']}{'' if ended else ' (NOT ENDED)'}",
        file=sys.stderr,
        flush=True,
    )
    return row


async def _received(database_url: str) -> dict[str, tuple[float, float | None]]:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        rows = await connection.fetch("SELECT delivery_id, received_at, started_at FROM deliveries")
    finally:
        await connection.close()
    return {
        str(row["delivery_id"]): (
            row["received_at"].timestamp(),
            row["started_at"].timestamp() if row["started_at"] is not None else None,
        )
        for row in rows
    }


def delivery_stages(database_url: str, row: dict[str, Any]) -> dict[str, list[float | None]]:
    """Per measured command, from its `deliveries` row: sent -> stored (`received_at`: the web
    process), stored -> a worker claimed it (`started_at`: the queue), claimed -> `eyes` at the
    host (the worker's work and the host calls before the reaction)."""
    times = asyncio.run(_received(database_url))
    sent: list[Command] = row["_sent"]
    eyes: dict[int, float] = row["_eyes"]
    stages: dict[str, list[float | None]] = {"intake": [], "queue": [], "worker": []}
    for command in sent:
        received, started = times.get(command.delivery_id, (None, None))
        seen = eyes.get(command.comment_id)
        stages["intake"].append(_ms(received, command.sent_at))
        stages["queue"].append(_ms(started, received))
        stages["worker"].append(_ms(seen, started))
    return stages


def _ms(later: float | None, earlier: float | None) -> float | None:
    return None if later is None or earlier is None else round(1000 * (later - earlier), 2)


def drain(host: Host, since: int, database_url: str, count: int, timeout: float) -> dict[str, Any]:
    """Wait for the measured commands' deployments to end; the host calls per command then."""
    started, deadline = time.monotonic(), time.monotonic() + timeout
    states = job_states(database_url)
    while time.monotonic() < deadline and not set(states) <= TERMINAL_JOB_STATES:
        time.sleep(0.5)
        states = job_states(database_url)
    if set(states) <= TERMINAL_JOB_STATES:
        time.sleep(QUIET_S)  # the last deployment's reports
    calls = host.calls(since)
    edits = _count(
        str(call["comment_id"])
        for call in calls
        if call["method"] == "PATCH" and call["template"].endswith("/comments/{comment_id}")
    )
    return {
        "seconds": round(time.monotonic() - started, 1),
        "edits_per_comment": {
            "comments": len(edits),
            "mean": round(sum(edits.values()) / len(edits), 2) if edits else 0,
            "max": max(edits.values(), default=0),
        },
        "ended": set(states) <= TERMINAL_JOB_STATES,
        "jobs": states,
        "commands": count,
        "calls": _count(f"{call['method']} {call['template']}" for call in calls),
        "unknown": sorted({f"{c['method']} {c['path']}" for c in calls if not c["known"]}),
    }


def _count(values: Iterator[str]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[value] = counted.get(value, 0) + 1
    return counted


def _progress(row: dict[str, Any]) -> None:
    summary = latency_summary(row["eyes_ms"])
    print(
        f"  {row['side']} {row['phase']}: {row['commands']} at {row['rate']:g}/s, eyes "
        f"{summary['seen']}/{row['commands']}, p50 {summary['p50_ms']} ms, p99 "
        f"{summary['p99_ms']} ms, answers {row['answers']}, machine {row['cpu']['machine_pct']} %",
        file=sys.stderr,
        flush=True,
    )


def probot_side(
    config: Config, host: Host, secret: str, cwd: Path, peer: probot.Probot
) -> list[dict[str, Any]]:
    env = {
        **_clean_env(),
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": host.url,
        "GITHUB_WEBHOOK_SECRET": secret,
        "BENCH_PROBOT_THROTTLE": "1" if config.probot_throttle else "0",
    }
    rows = []
    with services.running("", env, cwd, command=peer.command) as server:
        url, pids = f"{server.url}/webhooks/github", {"probot": server.pid}
        if config.warmup:
            rows.append(latency_phase("probot", host, url, secret, config, pids, warmup=True))
        rows.append(latency_phase("probot", host, url, secret, config, pids))
    return rows


def shipyard_side(
    config: Config, host: Host, host_pid: int, secret: str, cwd: Path
) -> dict[str, Any]:
    flush_redis()
    try:
        with services.bench_database() as database_url:
            env = shipyard_env(database_url, secret, host.url, cwd / "data")
            if config.intake:
                env["SHIPYARD_INTAKE_QUEUE"] = "true"
            services.migrate(env, cwd)
            registered = add_target(env, cwd)
            with (
                workers(config.workers, env, cwd, intake=config.intake) as worker_pids,
                services.running(FULL_APP, env, cwd) as web,
            ):
                url = f"{web.url}/webhooks/github"
                pids = {"web": web.pid, "host": host_pid}
                pids |= {
                    "worker" if index == 0 else f"worker-{index}": pid
                    for index, pid in enumerate(worker_pids)
                }
                single = [
                    single_deploy(label, host, url, secret, database_url, config)
                    for label in ("cold", "warm")
                ]
                if not all(row["ended"] for row in single):
                    print(f"  the workers' logs end:\n{_log_tails(cwd)}", file=sys.stderr)
                rows = []
                if config.warmup:
                    warm = latency_phase("shipyard", host, url, secret, config, pids, warmup=True)
                    rows.append(warm)
                    drain(host, warm["_since"], database_url, config.warmup, config.drain)
                measured = latency_phase("shipyard", host, url, secret, config, pids)
                measured["stages_ms"] = delivery_stages(database_url, measured)
                rows.append(measured)
                print("  waiting for the deployments to end ...", file=sys.stderr, flush=True)
                drained = drain(
                    host, measured["_since"], database_url, config.commands, config.drain
                )
                # the replies that came after the last eyes too
                measured["reply_ms"] = _reply_ms(measured["_sent"], host.calls(measured["_since"]))
                print(f"    {drained['jobs']} after {drained['seconds']} s", file=sys.stderr)
    finally:
        flush_redis()
    return {"target": registered, "single": single, "rows": rows, "drain": drained}


def _probot(config: Config) -> probot.Probot | str:
    """Probot from npm (bench/probot.py), with this bench's app beside it; or why not."""
    if not config.probot:
        return "left out (--no-probot)"
    print("Probot: preparing (npm install on the first run) ...", file=sys.stderr, flush=True)
    directory = Path(config.probot_dir)
    prepared = probot.prepare(directory)
    if isinstance(prepared, str):
        return prepared
    shutil.copyfile(PROBOT_APP, directory / "chatops.mjs")
    return dataclasses.replace(
        prepared, command=[prepared.command[0], str(directory / "chatops.mjs")]
    )


def run(config: Config) -> dict[str, Any]:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock = time.perf_counter()
    secret = secrets.token_hex(20)
    code = services.code_under_test()
    print(f"code under test: {code}", file=sys.stderr)
    peer = _probot(config)
    if isinstance(peer, str):
        print(f"Probot NOT measured: {peer}", file=sys.stderr, flush=True)
    result: dict[str, Any] = {
        "started_at": started,
        "code": code,
        "machine": services.machine("uvicorn", "starlette", "httpx", "arq", "asyncpg"),
        "config": asdict(config),
        "probot": (
            {**asdict(peer), "throttled": config.probot_throttle}
            if not isinstance(peer, str)
            else {"not_measured": peer}
        ),
        "repo_config": REPO_CONFIG,
        "rows": [],
    }
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-chatops-") as temp:
        cwd = Path(temp)  # no .env here: Settings see only the environment we give them
        (cwd / "data").mkdir()
        host_env = {
            **_clean_env(),
            "PYTHONPATH": services.python_path(),
            "BENCH_HOST_CONFIG": REPO_CONFIG,
            "BENCH_HOST_SALT": secret[:8],
        }
        with services.running(HOST_APP, host_env, cwd) as stand_in:
            host = Host(stand_in.url)
            if not isinstance(peer, str):
                print(f"Probot {peer.version} on node {peer.node} ...", file=sys.stderr)
                result["rows"] += probot_side(config, host, secret, cwd, peer)
            print(
                f"Shipyard (PostgreSQL + Redis db 11, web + {config.workers} worker(s)"
                f"{' + an intake worker' if config.intake else ''}) ...",
                file=sys.stderr,
            )
            shipyard = shipyard_side(config, host, stand_in.pid, secret, cwd)
    result["rows"] += shipyard.pop("rows")
    result["shipyard"] = shipyard
    for row in result["rows"]:
        for private in ("_since", "_sent", "_eyes"):
            row.pop(private, None)
    result["elapsed_s"] = round(time.perf_counter() - clock, 1)
    result["summary"] = summarise(result)
    return result


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}; cleaning up")


def main(argv: list[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    config = parse_args(arguments)
    tree, rest = split_tree(arguments)
    if tree is not None:
        run_in_tree(tree, "bench.chatops", rest)
    # Ctrl-C raises KeyboardInterrupt; make `kill` unwind the same way, so that every `finally`
    # (the processes, the bench database, Redis db 11, the temporary directory) runs.
    signal.signal(signal.SIGTERM, _stop)
    with services.exclusive():
        result = run(config)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace("-", "").replace(":", "")
    path = RESULTS / f"chatops-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"JSON: {path}", file=sys.stderr)
    failures = result["summary"]["failures"]
    if failures:
        raise SystemExit("; ".join(failures))


if __name__ == "__main__":
    main()
