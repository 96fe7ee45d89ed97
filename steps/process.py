"""Running one process group for a step: its output line by line, and nothing left behind.

Shared by `run_command` and `git`. The process starts in a session of its own, through the
step's `Launcher` (the sandbox, `steps.sandbox`); on cancellation (so also under
`asyncio.timeout`) the whole group gets SIGTERM, then SIGKILL after a grace period, and
processes the command leaves running in its group when it exits are stopped too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from steps.sandbox import Launcher, Unsandboxed

__all__ = ["GRACE_SECONDS", "run_process"]

GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL
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
    try:
        stream, transport = await _open_reader(read_fd)
    except BaseException:
        os.close(write_fd)
        raise
    try:
        launched = await launcher.start(argv, cwd=cwd, env=env, output_fd=write_fd)
    except BaseException:
        transport.close()
        raise
    finally:
        os.close(write_fd)  # the children hold it now; EOF comes when the last one exits
    proc = launched.process
    reader = asyncio.create_task(_pump(stream, transport, on_line))
    try:
        code = await proc.wait()
    except BaseException:
        await _stop(proc, reader, grace)
        await launched.close()
        raise
    await _stop(proc, reader, grace)
    await launched.close()
    return code


async def _open_reader(fd: int) -> tuple[asyncio.StreamReader, asyncio.ReadTransport]:
    """The read end of the pipe as a stream; the transport owns (and closes) `fd`."""
    stream = asyncio.StreamReader(limit=_MAX_LINE)
    pipe = os.fdopen(fd, "rb", buffering=0)
    try:
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stream), pipe
        )
    except BaseException:
        pipe.close()
        raise
    return stream, transport


async def _pump(
    stream: asyncio.StreamReader, transport: asyncio.ReadTransport, on_line: Callable[[str], None]
) -> None:
    """Hand each line to `on_line` until every writer has closed the pipe."""
    pending = b""
    try:
        while chunk := await stream.read(_CHUNK):
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) >= _MAX_LINE:
                lines, pending = [*lines, pending], b""
            for line in lines:
                for start in range(0, max(len(line), 1), _MAX_LINE):
                    on_line(_decode(line[start : start + _MAX_LINE]))
        if pending:
            on_line(_decode(pending))
    finally:
        transport.close()


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
