"""One attempt of a piece of durable work at a time on a machine, whatever its lease says.

A take-over needs the lease to have run out, and that is all it can know of an attempt on
another machine (which stops itself before then: `app.work.heartbeat`). On this machine it can
know more: the previous attempt's worker may still be alive yet unable to beat (its event loop
blocked, the process stopped), and then its processes still run. So an attempt holds an
exclusive flock(2) on a file named for its work while it runs, and a take-over that cannot get
it leaves the work for a later sweep. The kernel drops the lock when the holder dies, however it
dies; an attempt that stopped itself drops it as it ends. (A pid check could not tell a live
worker that gave the work up from one still running it, and pids are reused.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["hold_attempt"]


@contextlib.contextmanager
def hold_attempt(directory: Path, name: str) -> Iterator[bool]:
    """Hold the lock of work `name` (a file in `directory`) for the block; False (and no lock)
    while another attempt holds it. The file goes when the holder lets go."""
    path = directory / f"{name}.lock"
    fd = _lock(path)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # still holding the lock: see _lock
            os.close(fd)


def _lock(path: Path) -> int | None:
    """The open, locked file at `path`, or None if another holds it. A holder unlinks the file
    before letting go, so a lock taken on a file no longer at `path` is let go and taken anew:
    the lock that counts is the one on the file the path names."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            named = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            named = None
        held = os.fstat(fd)
        if named is not None and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
            return fd
        os.close(fd)
