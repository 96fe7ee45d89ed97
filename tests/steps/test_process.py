"""run_process at the edges: its processes die with the worker (grandchildren and ones that
left the session included), a lost lease stops them without a grace period, and each
descriptor it opens is closed exactly once, on asyncio's own loop and on uvloop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from steps.process import STOP_NOW, run_process
from tests.support.processes import descendants, gone, still_running
from tests.support.services import IN_CI

ENV = {"PATH": "/usr/bin:/bin"}

WORKER = """
import asyncio, sys
from pathlib import Path
from steps.process import run_process
script = "sleep 1000 & setsid sleep 1001 & (sleep 1002 &) ; echo up; sleep 1003"
asyncio.run(run_process(["bash", "-c", script], cwd=Path("."), env={"PATH": "/usr/bin:/bin"},
                        on_line=lambda line: print(line, flush=True)))
"""

# Many commands at once, their output read while other descriptors come and go.
CONCURRENT = """
import asyncio, sys
from pathlib import Path
from steps.process import run_process

async def main():
    for _ in range(5):
        await asyncio.gather(*(
            run_process(["echo", "x"], cwd=Path("."), env={"PATH": "/usr/bin:/bin"},
                        on_line=lambda line: None)
            for _ in range(12)
        ))

if sys.argv[1] == "uvloop":
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


async def test_an_unsandboxed_commands_whole_tree_dies_with_its_worker() -> None:
    worker = await asyncio.create_subprocess_exec(*_python(WORKER), stdout=subprocess.PIPE)
    below: set[tuple[int, str]] = set()
    try:
        assert worker.stdout is not None
        assert await worker.stdout.readline() == b"up\n"
        below = await _until_below(worker.pid, "sleep", 4)
        sleeps = sum(_command(pid) == "sleep" for pid, _ in below)
        assert sleeps == 4, "a sleep is not below the worker: the orphan went to init"
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        assert await gone(below) == set()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        for pid, _ in still_running(below):  # a failure leaves nothing behind either
            os.kill(pid, signal.SIGKILL)


async def _until_below(root: int, command: str, count: int) -> set[tuple[int, str]]:
    """The processes below `root` once `count` of them run `command` (they exec in a moment),
    or after 10 s, however many do."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        below = descendants(root)
        found = sum(_command(pid) == command for pid, _ in below)
        if found >= count or asyncio.get_running_loop().time() > deadline:
            return below
        await asyncio.sleep(0.02)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


async def test_the_command_keeps_its_exit_status_and_its_errors(tmp_path: Path) -> None:
    def run(*argv: str) -> asyncio.Future[int]:
        return asyncio.ensure_future(
            run_process(argv, cwd=tmp_path, env=ENV, on_line=lambda line: None)
        )

    assert await run("bash", "-c", "exit 3") == 3
    assert await run("bash", "-c", "kill -TERM $$") == -signal.SIGTERM
    with pytest.raises(FileNotFoundError):
        await run("no-such-program-here")
    with pytest.raises(PermissionError):
        await run(str(tmp_path))


async def test_a_lost_lease_stops_the_command_without_a_grace_period(tmp_path: Path) -> None:
    lines: list[str] = []
    started = asyncio.Event()

    def on_line(line: str) -> None:
        lines.append(line)
        started.set()

    script = "trap 'echo ignoring TERM' TERM; echo up; while :; do sleep 0.05; done"
    task = asyncio.create_task(
        run_process(["bash", "-c", script], cwd=tmp_path, env=ENV, on_line=on_line, grace=3600)
    )
    try:
        await started.wait()
        task.cancel(STOP_NOW)
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(30):  # not the hour of grace a cancellation gives
                await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert lines[0] == "up"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_each_descriptor_is_closed_once(loop: str, tmp_path: Path) -> None:
    """A second close(2) of a number closes whatever another thread opened under it meanwhile;
    strace sees every close of the process's main thread, and the failed ones."""
    strace = shutil.which("strace")
    if strace is None:
        if IN_CI:
            pytest.fail("strace is not installed; CI must run this test (.ci/run installs it)")
        pytest.skip("strace is not installed")
    trace = tmp_path / "trace"
    subprocess.run(
        [strace, "-qq", "-o", str(trace), "-e", "trace=close", *_python(CONCURRENT, loop)],
        check=True,
        cwd=Path.cwd(),
        timeout=60,
    )
    closes = trace.read_text().splitlines()
    assert len(closes) > 5 * 12  # the trace saw the commands' descriptors go
    assert [line for line in closes if re.search(r"EBADF", line)] == []
