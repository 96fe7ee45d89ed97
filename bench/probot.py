"""Probot, the peer the intake is measured against: installed from npm into a cache directory
outside the repository when `node` and `npm` are present, and run as a server like the others.

The app is bench/probot/app.mjs (receives `push`, does nothing); it is copied next to the
`node_modules` it imports probot from. Nothing downloaded lands in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PROBOT_SPEC", "Probot", "default_directory", "prepare"]

PROBOT_SPEC = "^14"  # npm semver range: the current major (14.x on 2026-11-23)
_APP = Path(__file__).with_name("probot") / "app.mjs"


@dataclass(frozen=True)
class Probot:
    """An installed Probot: the command that serves the bench app, and what it runs on."""

    command: list[str]
    version: str
    node: str


def default_directory() -> Path:
    """$XDG_CACHE_HOME (or ~/.cache)/shipyard-bench/probot."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "shipyard-bench" / "probot"


def prepare(directory: Path) -> Probot | str:
    """Probot installed in `directory` (npm install, once; later runs reuse it), or why not."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        return f"{missing} not found on PATH"
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": "shipyard-bench-probot",
        "private": True,
        "type": "module",
        "dependencies": {"probot": PROBOT_SPEC},
    }
    (directory / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    installed = directory / "node_modules" / "probot" / "package.json"
    if not installed.exists():
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"],
            cwd=directory, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if done.returncode != 0 or not installed.exists():
            return f"`npm install probot@{PROBOT_SPEC}` failed: {done.stderr.strip()[-500:]}"
    shutil.copyfile(_APP, directory / "app.mjs")
    version = json.loads(installed.read_text())["version"]
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30
    ).stdout.strip()
    return Probot([node, str(directory / "app.mjs")], version, node_version)
