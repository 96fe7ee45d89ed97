"""Running git for steps: the credential header travels in git's environment, never in argv,
a URL, `.git/config` or a log line.

`http.extraHeader` is passed as `GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_0` / `GIT_CONFIG_VALUE_0`
(git >= 2.31), which is `git -c` without putting the token in the process list, and it is scoped
to the host of the clone URL (`http.https://host/.extraHeader`): should a repository's own
config rewrite the remote (`url.<x>.insteadOf`), git does not send the header elsewhere.

Earlier steps run the repository's code, and can write the workspace: `$HOME/.gitconfig` (HOME
is the workspace), `.git/config` and `.git/hooks`. So git never reads the system or global
config, never runs a hook or an fsmonitor, and a command that carries the token only ever runs
in a repository Shipyard made itself and no step has touched since (see `create_pr`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from providers.vocabulary import CloneAuth
from steps.base import StepContext, StepFailed
from steps.process import run_process

__all__ = [
    "Git",
    "GitFailed",
    "GitResult",
    "command_config",
    "credential_secrets",
    "has_password",
]

# What every git command is told, ahead of any config a step could have written.
_SAFE_CONFIG = (("core.hooksPath", "/dev/null"), ("core.fsmonitor", "false"))


class GitFailed(StepFailed):
    """A git command exited non-zero."""


@dataclass(frozen=True)
class GitResult:
    code: int
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


@dataclass
class Git:
    """git for one step in one directory, authenticated by `auth` where it talks to a remote.
    The step's mask learns every form of the credential first."""

    ctx: StepContext
    cwd: Path
    auth: CloneAuth | None = None

    def __post_init__(self) -> None:
        for secret in credential_secrets(self.auth):
            self.ctx.mask.add(secret)

    async def __call__(self, *args: str, check: bool = True, log: bool = True) -> GitResult:
        """Run `git <args>`; its output (masked) goes to the step log unless `log` is false."""
        lines: list[str] = []

        def on_line(line: str) -> None:
            masked = self.ctx.mask(line)
            lines.append(masked)
            if log:
                self.ctx.log(masked)

        if log:
            self.ctx.log(self.ctx.mask(f"$ git {' '.join(args)}"))
        try:
            code = await run_process(
                ["git", *args],
                cwd=self.cwd,
                env=self._env(),
                on_line=on_line,
                launcher=self.ctx.sandbox,
            )
        except FileNotFoundError:
            raise StepFailed(f"cannot run git in {self.cwd}: is git installed?") from None
        result = GitResult(code, lines)
        if check and code != 0:
            last = result.lines[-1] if result.lines else "no output"
            raise GitFailed(f"git {_verb(args)} failed (exit code {code}): {self.ctx.mask(last)}")
        return result

    def _env(self) -> dict[str, str]:
        env = {
            "HOME": str(self.ctx.workspace),
            **{k: v for k, v in self.ctx.process_env.items() if k in ("PATH", "HOME")},
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",  # fail rather than wait for a password nobody types
            "GCM_INTERACTIVE": "never",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
        }
        return env | command_config(self.auth)


def _verb(args: Sequence[str]) -> str:
    return next((a for a in args if not a.startswith("-") and "=" not in a), "")


def command_config(auth: CloneAuth | None) -> dict[str, str]:
    """The environment that gives git its safe settings and the clone header, scoped to the
    clone URL's host."""
    settings = list(_SAFE_CONFIG)
    if auth is not None and auth.header is not None:
        parts = urlsplit(auth.url)
        scoped = parts.scheme in ("http", "https") and parts.netloc
        key = f"http.{parts.scheme}://{parts.netloc}/.extraHeader" if scoped else "http.extraHeader"
        settings.append((key, auth.header))
    env = {"GIT_CONFIG_COUNT": str(len(settings))}
    for n, (key, value) in enumerate(settings):
        env |= {f"GIT_CONFIG_KEY_{n}": key, f"GIT_CONFIG_VALUE_{n}": value}
    return env


def credential_secrets(auth: CloneAuth | None) -> list[str]:
    """The header, its credential, and (for Basic) the decoded user:password and password."""
    if auth is None or auth.header is None:
        return []
    value = auth.header.partition(":")[2].strip()  # "Basic abc=" from "Authorization: Basic abc="
    scheme, _, credential = value.partition(" ")
    secrets = [auth.header, value, credential]
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(credential, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return secrets
        secrets += [pair, pair.partition(":")[2]]
    return secrets


def has_password(url: str) -> bool:
    """Whether a clone URL carries a password (providers must pass it as a header instead)."""
    return bool(urlsplit(url).password)
