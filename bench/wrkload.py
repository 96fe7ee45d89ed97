"""The closed loop through wrk: far cheaper per request than a Python client, so on a small
machine the server, not the load generator, runs out of CPU first.

wrk runs bench/wrk_push.lua, which sends the deliveries of a pool file (`write_pool_file`) with
a fresh `X-GitHub-Delivery` each: once each, stopping when all are answered (a server that
stores them), or cycling the pool until the duration is up (one that keeps nothing).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from bench.cpu import CpuClock

__all__ = ["SCRIPT", "run_wrk", "wrk_command"]

SCRIPT = Path(__file__).with_name("wrk_push.lua")
_RESULT = "BENCH-RESULT "


def wrk_command() -> str | None:
    """wrk's path, or None when it is not installed (`apt-get install wrk`)."""
    return shutil.which("wrk")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    url: str,
    pool_file: Path,
    *,
    connections: int,
    duration: float,
    stop_after: int,
    ok_status: str,
    server_pid: int,
) -> dict[str, Any]:
    """One wrk run (one thread, `connections` kept-alive connections); the same summary keys
    as `bench.load.Measurement.summary()`. `stop_after` > 0: send that many deliveries from
    the pool, once each, and end when all are answered (`duration` is then only a limit)."""
    wrk = wrk_command()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    prefix = str(uuid.uuid4())[:24]  # + 12 hex digits of a counter in the script
    command = [
        wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
        "-s", str(SCRIPT), url, "--", str(pool_file), str(stop_after), prefix,
    ]  # fmt: skip
    clock = CpuClock(server_pid)
    before = _children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    client_s = _children_cpu() - before
    cpu = clock.percentages(client_seconds=client_s)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_RESULT)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    seen = json.loads(lines[-1][len(_RESULT) :])
    statuses: dict[str, int] = {str(k): int(v) for k, v in seen["statuses"].items()}
    socket_errors = {f"socket {k}": int(v) for k, v in seen["errors"].items() if int(v)}
    ok = statuses.get(ok_status, 0)
    kinds = {status: n for status, n in statuses.items() if status != ok_status}
    kinds.update(socket_errors)
    elapsed = (seen["elapsed_us"] or seen["duration_us"]) / 1e6
    answered = sum(statuses.values())
    summary: dict[str, Any] = {
        "sent": answered + sum(socket_errors.values()),
        "ok": ok,
        "errors": sum(kinds.values()),
        "error_kinds": kinds,
        "elapsed_s": round(elapsed, 3),
        "rps": round(ok / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(seen["p50_us"] / 1000, 2),
        "p99_ms": round(seen["p99_us"] / 1000, 2),
        "max_ms": round(seen["max_us"] / 1000, 2),
        **cpu,
    }
    if answered:
        summary["server_cpu_ms_per_request"] = round(1000 * cpu["server_cpu_s"] / answered, 3)
    return summary
