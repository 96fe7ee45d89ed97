"""The program an unsandboxed step's command runs under, so that it ends with its worker.

`python -I -S reaper.py LIFELINE STATUS`, started by `steps.launchers.Unsandboxed` in a session of
its own, reads `[argv, env]` (JSON) on stdin, starts the command (stdin /dev/null, the same
stdout and stderr), says on STATUS that it started (or the errno it could not), and waits.

- The command exits: the reaper exits the same way (its code, or its signal), so the worker
  sees the command's own exit status.
- LIFELINE reads EOF: the worker holds the only write end, and the kernel closes it however the
  worker ends, SIGKILL included. The reaper then kills every process it can find below it and
  exits. It is a child subreaper (PR_SET_CHILD_SUBREAPER), so a process whose parent exited,
  even one that left the session with setsid, is re-parented to it and found too.

Why not PR_SET_PDEATHSIG on the command: it reaches only the direct child (a `bash -c` script's
commands are grandchildren), and it fires when the *thread* that forked the child exits, not
the process. The pipe needs neither, and it cannot be missed: a worker that dies before the
reaper starts has already closed its end.

Only the standard library, and nothing of Shipyard: it runs as a script, isolated (-I -S).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import select
import signal
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def main(lifeline: int, status: int) -> int:
    os.set_inheritable(lifeline, False)
    os.set_inheritable(status, False)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # The group's SIGTERM (the worker stopping the step) is for the command; the reaper stays
    # until the command has exited, to pass its status on. (Handlers reset at exec.)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: None)
    argv, env = json.loads(sys.stdin.buffer.read())
    try:
        pid = _spawn(argv, env)
    except (OSError, ValueError) as error:
        errno = error.errno if isinstance(error, OSError) else None
        os.write(status, json.dumps({"errno": errno, "message": str(error)}).encode())
        return 127
    os.write(status, b"{}")
    os.close(status)
    return _wait(pid, lifeline)


def _spawn(argv: list[str], env: dict[str, str]) -> int:
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        return os.posix_spawnp(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0)])
    finally:
        os.close(devnull)


def _wait(pid: int, lifeline: int) -> int:
    """Until the command exits (its status) or the worker is gone (everything killed)."""
    command = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([command, lifeline], [], [])
        if lifeline in ready:
            _kill_everything_below()
            return 137
        if command in ready:
            break
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        _die_like(os.WTERMSIG(status))
    return os.waitstatus_to_exitcode(status)


def _die_like(sig: int) -> None:
    """End by signal `sig`, as the command did (no core file of the reaper's own)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def _kill_everything_below() -> None:
    """SIGKILL every live descendant, again and again (a dying one's children come to us),
    until none is left."""
    me = os.getpid()
    while victims := _descendants(me):
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _reap()
        time.sleep(0.005)  # SIGKILL lands asynchronously


def _descendants(root: int) -> set[int]:
    """Processes below `root` that are not zombies."""
    children: dict[int, list[int]] = {}
    live: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        children.setdefault(int(ppid), []).append(int(entry.name))
        if state != "Z":
            live.add(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found & live


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
