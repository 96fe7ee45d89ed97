"""Where the machine's CPU went during a phase: server, load generator, PostgreSQL, Redis, other.

Read from /proc (Linux). Every figure is in % of one core, so on 2 cores `machine` tops out at
200. `postgres` is the server's own processes and the backends of `database`; `other` is the
rest: other users' work (their tests, their databases' backends), the kernel, and processes
that both started and ended within the phase (such as a pooled connection opened and closed).
"""

from __future__ import annotations

import os
import time

from bench.services import BENCH_DATABASE

__all__ = ["CpuClock", "machine_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK")
_GROUPS = {"postgres": "postgres", "redis-server": "redis"}


def _process_seconds(database: str) -> dict[int, tuple[str, float, int]]:
    """Every process's group (or command name), CPU seconds (user + system, all threads) and
    parent's pid."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                text = stat.read()
        except OSError:  # it exited meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rpartition(")")[2].split()
        if name == "postgres" and not _serves(entry.name, database):
            name = "postgres (another database)"
        seconds = (int(fields[11]) + int(fields[12])) / _TICKS
        found[int(entry.name)] = (name, seconds, int(fields[1]))
    return found


def _serves(pid: str, database: str) -> bool:
    """Whether a postgres process is a backend of `database` or one of the server's own."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            title = cmdline.read().decode(errors="replace")
    except OSError:
        return False
    is_backend = "127.0.0.1(" in title or "[local]" in title or "::1(" in title
    return not is_backend or f" {database} " in title


def machine_seconds() -> float:
    """CPU seconds the whole machine spent busy (not idle, not waiting on I/O) since boot."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICKS


class CpuClock:
    """Started at construction; `percentages()` says how busy each party was since then."""

    def __init__(self, server_pid: int, database: str | None = None) -> None:
        # `database`: the PostgreSQL database whose backends count (this run's, by default)
        self._server_pid = server_pid
        self._database = database or BENCH_DATABASE
        self._wall = time.perf_counter()
        self._client = time.process_time()
        self._machine = machine_seconds()
        self._processes = _process_seconds(self._database)

    def percentages(self, client_seconds: float | None = None) -> dict[str, float]:
        """Busy % of one core per party since construction, and the server's CPU seconds.

        The load generator is this process unless `client_seconds` says what it used (wrk, a
        child process, measured by the caller)."""
        wall = max(time.perf_counter() - self._wall, 1e-9)
        used = {"server": 0.0, "postgres": 0.0, "redis": 0.0}
        for pid, (name, seconds, parent) in _process_seconds(self._database).items():
            before = self._processes.get(pid, (name, 0.0, parent))  # new ones count from zero
            server = self._server_pid in (pid, parent)  # its worker processes too
            group = "server" if server else _GROUPS.get(name)
            if group is not None and before[0] == name:
                used[group] += seconds - before[1]
        used["client"] = (
            time.process_time() - self._client if client_seconds is None else client_seconds
        )
        machine = machine_seconds() - self._machine
        used["other"] = max(0.0, machine - sum(used.values()))
        used["machine"] = machine
        shares = {f"{name}_cpu_pct": round(100 * used[name] / wall, 1) for name in used}
        return {**shares, "server_cpu_s": round(used["server"], 3)}
