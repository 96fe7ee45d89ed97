"""What an executor is, and what it is given for one task: the target, the release's values,
the generated files, and narrow services (secrets, HTTP, the sandbox, the host client).

An executor does the I/O of a deploy target type: ssh (asyncssh), webhook, api, workflow,
command. It never reads settings or the database; everything it may use is in `TaskRun`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx

from app.deployments.targets.spec import Connection
from providers.base import Provider
from providers.vocabulary import Repo
from steps.integrations import CiSystems
from steps.launchers import Launcher

__all__ = [
    "CheckResult",
    "DeployFailed",
    "Executor",
    "FileToWrite",
    "NotSupported",
    "TargetInfo",
    "TaskRun",
    "Variables",
]

Variables = Mapping[str, str]
"""SHIPYARD_* environment variables for what runs on a target: SHIPYARD_RELEASE,
SHIPYARD_ENVIRONMENT, SHIPYARD_TARGET, SHIPYARD_COMMIT, SHIPYARD_DIGESTS (JSON),
SHIPYARD_COMPONENT, SHIPYARD_DIGEST, SHIPYARD_JOB_ID, SHIPYARD_PARAM_<NAME>, …"""


class DeployFailed(Exception):
    """The deploy ran and failed (a non-zero exit, a refused call, a timeout); the message
    says why, for the task's log and the deployment page. Never holds a secret."""


class NotSupported(DeployFailed):
    """The target's type cannot do this (a command health check on a webhook target)."""


@dataclass(frozen=True)
class TargetInfo:
    """A registered target as an executor sees it: its connection and credential reference."""

    name: str
    connection: Connection
    credential: str | None = None  # a reference, resolved through TaskRun.resolve
    labels: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool = False

    @property
    def type(self) -> str:
        return self.connection.type

    @property
    def host(self) -> str | None:
        return getattr(self.connection, "host", None)


@dataclass(frozen=True)
class FileToWrite:
    """A generated artifact to put on the target: its name there, and its bytes as stored
    (a secret as its reference). `fill()` gives the bytes to write, with secrets resolved:
    call it only as the file is written, and never log or store what it returns."""

    filename: str
    content: bytes
    sha256: str
    fill: Callable[[], Awaitable[bytes]]


@dataclass(frozen=True)
class CheckResult:
    """What `Executor.test` found: each thing it checked, with whether it worked."""

    checks: Sequence[tuple[str, bool, str]]  # (what, ok, detail)

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


@dataclass
class TaskRun:
    """Everything an executor may use for one task."""

    target: TargetInfo
    job_id: int
    task_id: int
    attempt: int
    environment: str
    variables: Variables  # SHIPYARD_* for the deploy (see `Variables`)
    files: Sequence[FileToWrite]  # written before the deploy runs (ssh: SFTP into the workdir)
    command: str | None  # what an ssh target runs (the environment's deploy.command)
    timeout: float  # seconds for the whole deploy
    log: Callable[[str], None]  # one line to the task's log (masked before it is stored)
    resolve: Callable[[str], Awaitable[str]]  # a server-side reference to its value (masked)
    http: httpx.AsyncClient
    sandbox: Callable[[Path], Launcher]  # a launcher for a workspace (command targets)
    workspace: Path  # a directory of this task's own on the worker
    process_env: Mapping[str, str]  # PATH and LANG for local processes
    provider: Callable[[str], Provider]  # a host client by provider name (workflow targets)
    repo: Repo  # the deploying repository
    provider_name: str  # its host
    default_branch: Callable[[], Awaitable[str]]  # of the deploying repository
    connections: Any = None  # the process's reusable connections (ssh), by target
    dry_run: bool = False  # noop: say what would be done, touch nothing
    ci_systems: CiSystems | None = None  # CI integrations (workflow targets with integration)


class Executor(Protocol):
    """One target type's I/O."""

    type_name: ClassVar[str]

    async def deploy(self, run: TaskRun) -> None:
        """Write `run.files`, then deploy; DeployFailed if it did not succeed. With
        `run.dry_run`, log what would be done and touch nothing."""
        ...

    async def run_command(self, run: TaskRun, command: str, variables: Variables) -> int:
        """Run `command` on the target (health checks, a blue-green switch) with `variables`
        in its environment, streaming its output to `run.log`; its exit code. NotSupported
        for types that run no commands."""
        ...

    async def test(self, run: TaskRun) -> CheckResult:
        """Connect and authenticate to `run.target` without deploying anything (`run` carries
        no files and no command: `shipyard targets test`)."""
        ...
