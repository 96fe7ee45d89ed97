"""Real processes for tests: a `shipyard worker`, the processes below a process (read from
/proc), and waiting for them to be gone."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

# A process is its pid and its start time (field 22 of /proc/<pid>/stat): a pid alone may be
# reused by the time it is checked again.
Process = tuple[int, str]


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`shipyard worker` in a process of its own, with `env` over the test's environment."""
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "worker"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of `pid`, or None if it is gone."""
    try:
        text = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return fields[0], int(fields[1]), fields[19]


def descendants(root: int) -> set[Process]:
    """Every live process below `root` (children, theirs, and so on)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents.setdefault(stat[1], []).append(int(entry.name))
    found: set[Process] = set()
    todo = [root]
    while todo:
        for pid in parents.get(todo.pop(), []):
            stat = _stat(pid)
            if stat is not None and stat[0] != "Z":
                found.add((pid, stat[2]))
                todo.append(pid)
    return found


def still_running(processes: set[Process]) -> set[Process]:
    """Those of `processes` still running (a zombie has ended: only its parent's wait is left)."""
    running = set()
    for pid, started in processes:
        stat = _stat(pid)
        if stat is not None and stat[2] == started and stat[0] != "Z":
            running.add((pid, started))
    return running


async def gone(processes: set[Process], within: float = 10.0) -> set[Process]:
    """Wait (at most `within` seconds) until none of `processes` runs; those still running."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        running = still_running(processes)
        if not running or asyncio.get_running_loop().time() >= deadline:
            return running
        await asyncio.sleep(0.05)
