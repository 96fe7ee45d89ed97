"""The engine's own cost, apart from any target: an executor that returns at once (put in place
of a target type's in this process only), the database work counted by SQLAlchemy events, and
py-spy sampling this process while the engine runs (`--profile`)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapper
from sqlalchemy.pool import Pool

from app.deployments.executors import registry
from app.deployments.executors.base import CheckResult, TaskRun, Variables

__all__ = [
    "DatabaseWork",
    "NoOpExecutor",
    "no_op_executor",
    "profile_summary",
    "sampling",
    "statement_kind",
]


class NoOpExecutor:
    """An executor whose deploy returns at once: what is left is the engine's own work."""

    type_name: ClassVar[str] = "command"

    async def deploy(self, run: TaskRun) -> None:
        return None

    async def run_command(self, run: TaskRun, command: str, variables: Variables) -> int:
        return 0

    async def test(self, run: TaskRun) -> CheckResult:
        return CheckResult([])


@contextlib.contextmanager
def no_op_executor(type_name: str) -> Iterator[None]:
    """In this process only, targets of `type_name` deploy through `NoOpExecutor`."""
    real = registry.EXECUTORS[type_name]
    registry.EXECUTORS[type_name] = NoOpExecutor()
    try:
        yield
    finally:
        registry.EXECUTORS[type_name] = real


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


def statement_kind(statement: str) -> str:
    """`SELECT deployment_jobs`, `UPDATE deployment_tasks`: the verb and the first table."""
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
    found = _TABLE.search(statement)
    return f"{verb} {found.group(1)}" if found else verb


@dataclass
class DatabaseWork:
    """Pool checkouts, statements (by kind), commits, rollbacks and rows loaded as ORM objects
    (by class) in this process, counted by SQLAlchemy event listeners while `counting`."""

    checkouts: int = 0
    commits: int = 0
    rollbacks: int = 0
    statements: Counter[str] = field(default_factory=Counter)
    loaded: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.checkouts = self.commits = self.rollbacks = 0
        self.statements, self.loaded = Counter(), Counter()

    def snapshot(self) -> dict[str, Any]:
        return {
            "checkouts": self.checkouts,
            "commits": self.commits,
            "rollbacks": self.rollbacks,
            "statements": sum(self.statements.values()),
            "by_kind": dict(self.statements.most_common()),
            "loaded": dict(self.loaded.most_common()),
        }

    @contextlib.contextmanager
    def counting(self) -> Iterator[DatabaseWork]:
        def checkout(*_args: Any) -> None:
            self.checkouts += 1

        def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
            self.statements[statement_kind(text)] += 1

        def commit(*_args: Any) -> None:
            self.commits += 1

        def rollback(*_args: Any) -> None:
            self.rollbacks += 1

        def load(target: object, _context: Any) -> None:
            self.loaded[type(target).__name__] += 1

        listeners: Sequence[tuple[Any, str, Any]] = [
            (Pool, "checkout", checkout),
            (Engine, "before_cursor_execute", statement),
            (Engine, "commit", commit),
            (Engine, "rollback", rollback),
            (Mapper, "load", load),
        ]
        for target, name, listener in listeners:
            event.listen(target, name, listener)
        try:
            yield self
        finally:
            for target, name, listener in listeners:
                event.remove(target, name, listener)


@contextlib.contextmanager
def sampling(output: Path) -> Iterator[subprocess.Popen[bytes]]:
    """py-spy (next to this interpreter) sampling this process's threads on CPU at 250 Hz into
    `output` (collapsed stacks) until the block ends; the caller gives it a moment to attach."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        raise SystemExit(
            f"--profile needs py-spy: {Path(sys.executable).parent}/pip install py-spy"
        )
    command = [str(spy), "record", "--pid", str(os.getpid()), "--format", "raw",
               "--rate", "250", "--nonblocking", "-o", str(output)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes the file on SIGINT
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


_LINE = re.compile(r":\d+\)$")
_NOT_ENGINE = ("bench/", "asyncio/", "uvloop/", "<frozen", "runpy.py", "threading.py")


def _frame(frame: str) -> str:
    """`function (app/x.py)`: no line number, the path from its package on."""
    frame = _LINE.sub(")", frame)
    for root in ("site-packages/", "/work/main/", "lib/python3"):
        name, found, path = frame.partition(" (")
        if found and root in path:
            return f"{name} ({path.split(root, 1)[1]}"
    return frame


def profile_summary(collapsed: str, *, top: int = 25) -> dict[str, Any]:
    """From py-spy's `--format raw` output (`frame;frame;... count` lines, on-CPU samples): the
    functions with the largest inclusive share of the samples (each counted once per stack),
    the bench's and the event loop's own frames left out, and those with the largest own
    (leaf) share."""
    total = 0
    inclusive: Counter[str] = Counter()
    shipyard: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, frames = int(count_text), [_frame(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if not any(skip in frame for skip in _NOT_ENGINE):
                inclusive[frame] += count
            if " (app/" in frame:
                shipyard[frame] += count

    def shares(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"frame": f, "pct": round(100 * n / total, 1)} for f, n in counter.most_common(top)]

    return {"samples": total, "inclusive": shares(inclusive) if total else [],
            "shipyard": shares(shipyard) if total else [],
            "own": shares(own) if total else []}  # fmt: skip
