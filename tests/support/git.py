"""Real git repositories for the steps that run git: an origin with commits, and a credential
header whose every spelling must stay out of sight."""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

TOKEN = "ghs_FAKEtoken0123456789"
HEADER = "Authorization: Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def git(cwd: Path, *args: str) -> str:
    """Synchronous git for building fixtures and inspecting results."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_IDENTITY, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@dataclass
class Origin:
    path: Path
    shas: list[str]  # oldest first

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def commit(self, name: str, text: str) -> str:
        (self.path / name).write_text(text)
        git(self.path, "add", "-A")
        git(self.path, "commit", "--quiet", "-m", f"write {name}")
        sha = git(self.path, "rev-parse", "HEAD")
        self.shas.append(sha)
        return sha


def make_origin(path: Path, commits: int = 3) -> Origin:
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    origin = Origin(path, [])
    for n in range(commits):
        origin.commit("version.txt", f"{n}\n")
    return origin
