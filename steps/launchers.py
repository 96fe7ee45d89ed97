"""How one command of a step starts: the `Launcher` protocol, and the launchers that need no
sandbox: `Unsandboxed` (the operator's choice) and `Unavailable` (this machine has none).

Nothing a step starts outlives its worker, SIGKILL included, so a take-over of the step never
runs beside it. Unsandboxed commands run under `steps/reaper.py`, which watches this process's
`lifeline()` and kills the command's whole tree when the worker is gone: see its docstring for
why not PR_SET_PDEATHSIG. The sandbox (`steps.bubblewrap`) uses the same life line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

__all__ = [
    "Launched",
    "Launcher",
    "SandboxUnavailable",
    "Unavailable",
    "Unsandboxed",
    "kill_process",
    "lifeline",
    "read_pipe",
]

READY_TIMEOUT = 10.0  # for a helper (the reaper, bubblewrap, slirp4netns) to say it started
REAPER = Path(__file__).with_name("reaper.py")


class SandboxUnavailable(Exception):
    """A step that runs code needs the sandbox, and this machine cannot give it one."""


@dataclass(frozen=True)
class Launched:
    """A started command, and the helpers (slirp4netns) to stop when it is done."""

    process: asyncio.subprocess.Process
    helpers: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def close(self) -> None:
        for helper in self.helpers:
            if helper.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    helper.terminate()
            with contextlib.suppress(ProcessLookupError):
                await helper.wait()


class Launcher(Protocol):
    """Starts one command of a step, its output on `output_fd`, in a session of its own."""

    async def start(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], output_fd: int
    ) -> Launched: ...


class Unsandboxed:
    """`SHIPYARD_STEP_SANDBOX=none`: the command runs as Shipyard's own user, on the host,
    under `steps/reaper.py`, which ends it and all it started when the worker ends."""

    async def start(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], output_fd: int
    ) -> Launched:
        status_r, status_w = os.pipe()
        process: asyncio.subprocess.Process | None = None
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-S",
                str(REAPER),
                str(lifeline()),
                str(status_w),
                cwd=cwd,
                env={},  # the command's own comes on stdin, to keep the reaper's Python clean
                stdin=subprocess.PIPE,
                stdout=output_fd,
                stderr=output_fd,
                start_new_session=True,
                pass_fds=(lifeline(), status_w),
            )
            os.close(status_w)
            status_w = -1
            assert process.stdin is not None
            process.stdin.write(json.dumps([list(argv), dict(env)]).encode())
            await process.stdin.drain()
            process.stdin.close()
            report = json.loads(await read_pipe(status_r, "the step's reaper", to_end=True))
        except BaseException:
            await kill_process(process)
            raise
        finally:
            os.close(status_r)
            if status_w >= 0:
                os.close(status_w)
        if report:
            await process.wait()
            if report["errno"] is None:
                raise ValueError(report["message"])
            raise OSError(report["errno"], report["message"], argv[0])
        return Launched(process)


_LIFELINE: dict[int, tuple[int, int]] = {}  # pid → (read end, write end) of its life line


def lifeline() -> int:
    """The read end of this process's life line: a pipe whose write end this process alone
    holds, and never closes. A child given the read end reads EOF once the process is gone,
    however it ended. (A forked copy of the process makes its own on first use, closing the
    parent's; not in an at-fork hook, which uvloop runs in the child it is about to exec.)"""
    pid = os.getpid()
    if pid not in _LIFELINE:
        for ends in _LIFELINE.values():
            for fd in ends:
                with contextlib.suppress(OSError):
                    os.close(fd)
        _LIFELINE.clear()
        _LIFELINE[pid] = os.pipe()  # both ends close-on-exec: no child inherits them unasked
    return _LIFELINE[pid][0]


@dataclass(frozen=True)
class Unavailable:
    """No sandbox on this machine: a step that would run code fails, saying why and what to do."""

    reason: str

    async def start(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], output_fd: int
    ) -> Launched:
        raise SandboxUnavailable(self.reason)


async def kill_process(process: asyncio.subprocess.Process | None) -> None:
    """End a command that started but could not be set up."""
    if process is not None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def read_pipe(fd: int, what: str, *, to_end: bool = False) -> bytes:
    """Wait for `fd`'s writer to say it is ready: one byte, or (`to_end`) everything it writes
    until it closes its end — bubblewrap writes its info in pieces, and one written into a
    pipe already closed would kill it with SIGPIPE. SandboxUnavailable at an early EOF or
    after READY_TIMEOUT."""
    loop = asyncio.get_running_loop()
    received = bytearray()
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        chunk = os.read(fd, 4096)
        received.extend(chunk)
        if not done.done() and (not chunk or not to_end):
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await done
    except TimeoutError:
        raise SandboxUnavailable(f"{what} did not start within {READY_TIMEOUT:g} s") from None
    finally:
        loop.remove_reader(fd)
    if not received:
        raise SandboxUnavailable(f"{what} could not start on this machine")
    return bytes(received)
