"""What the step sandbox costs: one command (`true`) launched through steps.process, unsandboxed,
in bubblewrap without a network, and in bubblewrap with slirp4netns, one after another and
many at once.

    python -m bench.sandbox [--launches 50] [--parallel 20]

Reports wall milliseconds per launch (p50, p99) and, for the concurrent pass, how many failed.
Needs bwrap, unshare and slirp4netns on PATH; as root, the step user is nobody (65534).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from steps.process import run_process
from steps.sandbox import Bubblewrap, Launcher, SandboxTools, Unsandboxed, find_tools

STEP_USER = (65534, 65534)
PATH = "/usr/local/bin:/usr/bin:/bin"


def _workspace(root: Path, n: int) -> Path:
    path = root / "workspaces" / str(n)
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(path, *STEP_USER)
    return path


def _launcher(kind: str, tools: SandboxTools, workspace: Path) -> Launcher:
    if kind == "unsandboxed":
        return Unsandboxed()
    user = STEP_USER if os.geteuid() == 0 else None
    return Bubblewrap(tools, workspace, network=kind == "bwrap + slirp4netns", user=user)


async def _launch(kind: str, tools: SandboxTools, workspace: Path) -> tuple[float, int | str]:
    started = time.perf_counter()
    lines: list[str] = []
    try:
        code: int | str = await run_process(
            ["true"],
            cwd=workspace,
            env={"PATH": PATH},
            on_line=lines.append,
            launcher=_launcher(kind, tools, workspace),
        )
    except Exception as error:  # a failed launch is counted, not raised
        code = f"{type(error).__name__}: {error}"
    return (time.perf_counter() - started) * 1000, code


@dataclass(frozen=True)
class Row:
    kind: str
    p50: float
    p99: float
    parallel_max: float
    failures: list[str]


async def _pass(kind: str, tools: SandboxTools, root: Path, launches: int, parallel: int) -> Row:
    sequential = [await _launch(kind, tools, _workspace(root, n)) for n in range(launches)]
    base = launches
    concurrent = await asyncio.gather(
        *(_launch(kind, tools, _workspace(root, base + n)) for n in range(parallel))
    )
    times = sorted(ms for ms, _ in sequential)
    return Row(
        kind,
        statistics.median(times),
        times[min(len(times) - 1, int(len(times) * 0.99))],
        max(ms for ms, _ in concurrent),
        [str(code) for _, code in [*sequential, *concurrent] if code != 0],
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox", description=__doc__)
    parser.add_argument("--launches", type=int, default=50, help="one after another (50)")
    parser.add_argument("--parallel", type=int, default=20, help="at once (20)")
    args = parser.parse_args(argv)
    tools = find_tools(os.environ.get("PATH"))
    if isinstance(tools, str) or tools.slirp4netns is None:
        sys.exit(f"bench.sandbox needs bwrap, unshare and slirp4netns: {tools}")
    root = Path(tempfile.mkdtemp(prefix="shipyard-bench-sandbox-"))
    root.chmod(0o711)
    (root / "workspaces").mkdir(mode=0o711)
    try:
        kinds = ("unsandboxed", "bwrap, no network", "bwrap + slirp4netns")
        rows = [asyncio.run(_pass(k, tools, root, args.launches, args.parallel)) for k in kinds]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"`true` launched {args.launches} times one after another, then {args.parallel} at once")
    print()
    print("| launcher | p50 ms | p99 ms | slowest of the concurrent ms | failed |")
    print("|---|---|---|---|---|")
    for row in rows:
        why = "; ".join(sorted(set(row.failures)))
        print(
            f"| {row.kind} | {row.p50:.1f} | {row.p99:.1f} | {row.parallel_max:.0f} | "
            f"{len(row.failures)} {why} |"
        )


if __name__ == "__main__":
    main()
