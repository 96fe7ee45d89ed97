"""Running one process group for a step: its output line by line, and nothing left behind.

Shared by `run_command` and `git`. The process starts in a session of its own, through the
step's `Launcher` (`steps.launchers`, the sandbox's or none); on cancellation (so also under
`asyncio.timeout`) the whole group gets SIGTERM, then SIGKILL after a grace period (at once
when the cancellation says `STOP_NOW`: the step lost its lease), and processes the command leaves
running in its group when it exits are stopped too.

The output pipe's read end has one owner, `_PipeReader`, which reads it with the loop's
`add_reader` and closes it once. Handing it to `loop.connect_read_pipe` as a file object gives it
two: uvloop's transport closes the descriptor itself and then closes the file object, whose
second close(2) of the same number hits whatever another thread opened in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from steps.launchers import Launcher, Unsandboxed

__all__ = ["GRACE_SECONDS", "STOP_NOW", "run_process"]

GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL
# A cancellation with this message skips the grace period: another attempt may take the step
# over at any moment, so its processes must be gone now (`task.cancel(STOP_NOW)`).
STOP_NOW = "stop now: the lease is lost"
_UNSANDBOXED = Unsandboxed()
_CHUNK = 64 * 1024
_MAX_LINE = 64 * 1024  # a longer "line" is logged in pieces


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    on_line: Callable[[str], None],
    grace: float = GRACE_SECONDS,
    launcher: Launcher = _UNSANDBOXED,
) -> int:
    """Run `argv` (no shell) in a new session; return its exit code (negative: a signal).

    stdout and stderr go, merged, line by line to `on_line`. On cancellation the group gets
    SIGTERM, then SIGKILL after `grace` seconds, and the cancellation goes on.
    """
    read_fd, write_fd = os.pipe()
    output = _PipeReader(read_fd)
    try:
        launched = await launcher.start(argv, cwd=cwd, env=env, output_fd=write_fd)
    except BaseException:
        output.close()
        raise
    finally:
        os.close(write_fd)  # the children hold it now; EOF comes when the last one exits
    proc = launched.process
    reader = asyncio.create_task(_pump(output, on_line))
    try:
        code = await proc.wait()
    except asyncio.CancelledError as cancelled:
        await _stop(proc, reader, 0.0 if STOP_NOW in cancelled.args else grace)
        await launched.close()
        raise
    except BaseException:
        await _stop(proc, reader, grace)
        await launched.close()
        raise
    await _stop(proc, reader, grace)
    await launched.close()
    return code


class _PipeReader:
    """The read end of the output pipe: read through the loop's `add_reader`, closed once."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd

    async def read(self) -> bytes:
        """The next chunk; b"" once every writer has closed the pipe."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                return os.read(self._fd, _CHUNK)
            except BlockingIOError:
                pass
            readable: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self._fd, _wake, readable)
            try:
                await readable
            finally:
                loop.remove_reader(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)


def _wake(readable: asyncio.Future[None]) -> None:
    if not readable.done():  # the loop may call again before the reader is removed
        readable.set_result(None)


async def _pump(output: _PipeReader, on_line: Callable[[str], None]) -> None:
    """Hand each line to `on_line` until every writer has closed the pipe."""
    pending = b""
    try:
        while chunk := await output.read():
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) >= _MAX_LINE:
                lines, pending = [*lines, pending], b""
            for line in lines:
                for start in range(0, max(len(line), 1), _MAX_LINE):
                    on_line(_decode(line[start : start + _MAX_LINE]))
        if pending:
            on_line(_decode(pending))
    finally:
        output.close()


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r")


async def _stop(proc: asyncio.subprocess.Process, reader: asyncio.Task[None], grace: float) -> None:
    """SIGTERM to the group, SIGKILL after `grace`; then collect the last output."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        await _settle(proc, reader, grace)
    finally:
        _signal_group(proc.pid, signal.SIGKILL)
    await _settle(proc, reader, 1.0)
    if not reader.done():  # a process that left the group still holds the pipe
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _settle(
    proc: asyncio.subprocess.Process, reader: asyncio.Task[None], wait: float
) -> None:
    """Wait (at most `wait` seconds) for the process to exit and its output to end."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(wait):
            await proc.wait()
            await asyncio.shield(reader)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
