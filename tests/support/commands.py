"""`shipyard` commands as real processes, their logs in a file, and waiting on what they do."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

SHIPYARD = str(Path(sys.executable).with_name("shipyard"))


@contextlib.contextmanager
def shipyard(*args: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`shipyard ARGS` with `env` over a clean environment (no SHIPYARD_* of the caller's),
    stdout and stderr into `log`; stopped with SIGTERM (then SIGKILL) if still running."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [SHIPYARD, *args], env={**base, **env}, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, within: float = 30) -> None:
    """Return once `check()` is true; fail naming `what` if it is not within `within` s."""
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")
