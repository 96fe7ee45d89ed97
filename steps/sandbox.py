"""Where a step's processes run: what the server allows (`SandboxPolicy`), and the launcher
that follows from it: the bubblewrap sandbox (`steps.bubblewrap`), or, by the operator's
choice, none (`steps.launchers`). This module is the one the rest of Shipyard imports."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from steps.bubblewrap import Bubblewrap, SandboxTools, find_tools
from steps.launchers import (
    Launched,
    Launcher,
    SandboxUnavailable,
    Unavailable,
    Unsandboxed,
    lifeline,
)

__all__ = [
    "Bubblewrap",
    "Launched",
    "Launcher",
    "SandboxPolicy",
    "SandboxTools",
    "SandboxUnavailable",
    "Unavailable",
    "Unsandboxed",
    "find_tools",
    "lifeline",
    "unreachable",
]


@dataclass(frozen=True)
class SandboxPolicy:
    """What the server allows for steps that run code: the sandbox (its tools, or why this
    machine has none), or — `SHIPYARD_STEP_SANDBOX=none` — no sandbox at all."""

    tools: SandboxTools | str | None  # None: the operator turned the sandbox off
    user: tuple[int, int] | None = None  # (uid, gid) to run as when Shipyard is root

    @property
    def off(self) -> bool:
        return self.tools is None

    def make_workspace(self, directory: Path, *, passages: int = 1) -> Path:
        """`directory` made (with its parents) for commands to work in: its own 0700, owned
        by the step user (commands run as it), and the `passages` folders above it letting
        others through without listing what else they hold (0711)."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = directory
        for _ in range(passages):
            folder = folder.parent
            folder.chmod(0o711)
        directory.chmod(0o700)
        if self.user is not None and directory.stat().st_uid != self.user[0]:
            os.chown(directory, *self.user)
        return directory

    def launcher(self, workspace: Path, *, network: bool) -> Launcher:
        """How one step's commands start, `workspace` the only place they may write."""
        if self.tools is None:
            return Unsandboxed()
        if isinstance(self.tools, str):
            return Unavailable(self.tools)
        blocked = unreachable(workspace.parent, *self.user) if self.user else None
        if blocked and self.user:
            return Unavailable(
                f"the step user (uid {self.user[0]}) cannot reach the workspaces: {blocked} "
                "lets no one else through. Set SHIPYARD_DATA_DIR to a directory it can reach "
                "(e.g. /var/lib/shipyard), or run Shipyard as an ordinary user"
            )
        return Bubblewrap(self.tools, workspace, network=network, user=self.user)


def unreachable(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory on the way to `path` that user `uid:gid` may not pass, if any."""
    for directory in [*reversed(path.parents), path]:
        try:
            info = directory.stat()
        except FileNotFoundError:
            return None  # made later, by Shipyard, with modes that let the step user through
        if info.st_uid == uid:
            allowed = info.st_mode & 0o100
        elif info.st_gid == gid:
            allowed = info.st_mode & 0o010
        else:
            allowed = info.st_mode & 0o001
        if not allowed:
            return directory
    return None
