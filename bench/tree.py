"""`--tree PATH`: run this bench against the Shipyard of another working tree (e.g. a worktree
of an older commit, for "before" figures), with that tree's virtualenv.

The bench re-executes itself under `PATH/.venv/bin/python` from an overlay directory that holds
only a link to this `bench` package, with PYTHONPATH `overlay:PATH`: `bench` comes from here,
`app`, `steps`, `providers` and `jobqueue` from PATH, and so does every process it starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import NoReturn

__all__ = ["run_in_tree", "split_tree"]

_BENCH = Path(__file__).resolve().parent


def run_in_tree(tree: str, module: str, argv: list[str]) -> NoReturn:
    """Replace this process with `module` (e.g. "bench.intake") run as above; `argv` without
    `--tree`."""
    root = Path(tree).resolve()
    python = root / ".venv" / "bin" / "python"
    if not (root / "app").is_dir() or not python.exists():
        raise SystemExit(f"--tree {tree}: expected a Shipyard tree with app/ and .venv/bin/python")
    overlay = Path(tempfile.gettempdir()) / f"shipyard-bench-overlay-{os.getuid()}"
    shutil.rmtree(overlay, ignore_errors=True)
    overlay.mkdir()
    (overlay / "bench").symlink_to(_BENCH, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(overlay), str(root)])}
    os.chdir(overlay)  # `python -m` puts the working directory first on sys.path
    os.execve(python, [str(python), "-m", module, *argv], env)  # noqa: S606 (no shell)


def split_tree(arguments: list[str]) -> tuple[str | None, list[str]]:
    """The value of `--tree X` / `--tree=X` in `arguments` (None if absent), and the rest."""
    tree, kept = None, []
    iterator = iter(arguments)
    for argument in iterator:
        if argument == "--tree":
            tree = next(iterator, None)
        elif argument.startswith("--tree="):
            tree = argument.partition("=")[2]
        else:
            kept.append(argument)
    return tree, kept
