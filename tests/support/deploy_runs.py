"""Building an executor's TaskRun by hand: an ssh target for a test server, files to write,
and a run that keeps its log lines and resolves file:// and env:// references from the test's
own values. The services an ssh deploy has no business with refuse when touched."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.deployments.executors.base import FileToWrite, TargetInfo, TaskRun
from app.deployments.targets.spec import SshConnection
from providers.vocabulary import Repo
from steps.secret_refs import SecretError
from tests.support.sshd import Sshd


class Untouchable:
    """A service the executor under test must not use: any use fails the test."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the executor used TaskRun.{self._name}.{attribute}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the executor called TaskRun.{self._name}")


def ssh_target(
    server: Sshd,
    name: str,
    workdir: Path | str,
    *,
    key_path: Path | None = None,
    port: int | None = None,
    known_host: str | None = None,
    fingerprint: str | None = None,
) -> TargetInfo:
    """A target on `server` (or another `port` of its host); its host key given as
    `known_host` (the server's own unless `fingerprint` is given), its credential a file://
    reference to `key_path` (the server's user's key by default)."""
    if known_host is None and fingerprint is None:
        known_host = server.host_public_key
    connection = SshConnection(
        host=server.host,
        port=port or server.port,
        user=server.user,
        workdir=str(workdir),
        known_host=known_host,
        host_key_fingerprint=fingerprint,
    )
    return TargetInfo(name, connection, credential=f"file://{key_path or server.key_path}")


def file_to_write(filename: str, stored: bytes, filled: bytes | None = None) -> FileToWrite:
    """A generated file as stored (`stored`, references and all); `filled` is what `fill()`
    gives, with secrets resolved (the stored bytes when None)."""
    written = stored if filled is None else filled

    async def fill() -> bytes:
        return written

    return FileToWrite(filename, stored, hashlib.sha256(stored).hexdigest(), fill)


@dataclass
class Recorder:
    """What a run logged, and its references' values."""

    lines: list[str] = field(default_factory=list)
    env: Mapping[str, str] = field(default_factory=dict)  # env://NAME → value

    def log(self, line: str) -> None:
        self.lines.append(line)

    async def resolve(self, reference: str) -> str:
        if reference.startswith("file://"):
            return await asyncio.to_thread(Path(reference.removeprefix("file://")).read_text)
        if reference.startswith("env://") and reference[6:] in self.env:
            return self.env[reference[6:]]
        raise SecretError(f"{reference} cannot be resolved here")


def task_run(
    target: TargetInfo,
    recorder: Recorder,
    *,
    command: str | None = None,
    files: Sequence[FileToWrite] = (),
    variables: Mapping[str, str] | None = None,
    job_id: int = 1,
    task_id: int = 1,
    timeout: float = 60.0,
    connections: Any = None,
    dry_run: bool = False,
) -> TaskRun:
    """A TaskRun for `target`, logging to and resolving through `recorder`."""
    return TaskRun(
        target=target,
        job_id=job_id,
        task_id=task_id,
        attempt=1,
        environment="production",
        variables=dict(variables or {}),
        files=list(files),
        command=command,
        timeout=timeout,
        log=recorder.log,
        resolve=recorder.resolve,
        http=Untouchable("http"),  # type: ignore[arg-type]
        sandbox=Untouchable("sandbox"),
        workspace=Path("/nonexistent/workspace"),
        process_env={"PATH": "/usr/bin:/bin"},
        provider=Untouchable("provider"),
        repo=Repo("acme/web"),
        provider_name="github",
        default_branch=Untouchable("default_branch"),
        connections=connections,
        dry_run=dry_run,
    )
