"""Running one deploy task by hand: a TaskRun with the real secret resolver and masker, and
what the executor logged as it wrote it (before the mask the engine applies), so a test can
prove a secret never reached a line."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from app.deployments.executors.base import FileToWrite, TargetInfo, TaskRun
from app.deployments.targets.spec import parse_connection
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets
from providers.base import Provider
from providers.vocabulary import Repo
from steps.sandbox import Launcher, Unsandboxed

__all__ = [
    "DIGESTS",
    "VARIABLES",
    "TaskHarness",
    "file_to_write",
    "target",
]

TEST_PATH = "/usr/local/bin:/usr/bin:/bin"
DIGESTS = {"web": "sha256:" + "1" * 64, "worker": "sha256:" + "2" * 64}
VARIABLES: dict[str, str] = {  # as app.deployments.variables gives them for task 9 of job 7
    "SHIPYARD_PROVIDER": "github",
    "SHIPYARD_REPOSITORY": "acme/web",
    "SHIPYARD_ENVIRONMENT": "staging",
    "SHIPYARD_JOB_ID": "7",
    "SHIPYARD_TASK_ID": "9",
    "SHIPYARD_RELEASE": "web 1.4.0",
    "SHIPYARD_RELEASE_ID": "12",
    "SHIPYARD_RELEASE_VERSION": "1.4.0",
    "SHIPYARD_COMMIT": "c" * 40,
    "SHIPYARD_TAG": "v1.4.0",
    "SHIPYARD_DIGESTS": json.dumps(DIGESTS, sort_keys=True),
    "SHIPYARD_TARGET": "web-staging",
    "SHIPYARD_COMPONENT": "web",
    "SHIPYARD_IMAGE": "ghcr.io/acme/web",
    "SHIPYARD_DIGEST": DIGESTS["web"],
    "SHIPYARD_PARAM_REASON": "hotfix",
}


def target(
    connection: Mapping[str, object], *, credential: str | None = None, name: str = "web-staging"
) -> TargetInfo:
    """A registered target of `connection` (checked as the CLI checks it)."""
    return TargetInfo(name=name, connection=parse_connection(connection), credential=credential)


def file_to_write(filename: str, stored: bytes, filled: bytes | None = None) -> FileToWrite:
    """A generated file as stored (`stored`, secrets as references) and as written (`filled`)."""
    written = stored if filled is None else filled

    async def fill() -> bytes:
        return written

    return FileToWrite(filename, stored, hashlib.sha256(stored).hexdigest(), fill)


class TaskHarness:
    """A TaskRun's moving parts, kept for assertions: `lines` as the executor logged them,
    `mask` the values it resolved (server-side references, from this process's environment,
    read when resolved: tests set them with monkeypatch), the providers it asked for by name,
    and how often it asked for the default branch."""

    def __init__(
        self,
        workspace: Path,
        http: httpx.AsyncClient,
        *,
        providers: Mapping[str, Provider] | None = None,
        default_branch: str = "main",
    ) -> None:
        self.workspace = workspace
        self.http = http
        self.providers = dict(providers or {})
        self.default_branch = default_branch
        self.lines: list[str] = []
        self.mask = Masker()
        self.providers_asked: list[str] = []
        self.default_branch_asked = 0

    def run(
        self,
        target: TargetInfo,
        *,
        variables: Mapping[str, str] = VARIABLES,
        files: Sequence[FileToWrite] = (),
        timeout: float = 600.0,
        dry_run: bool = False,
        sandbox: Callable[[Path], Launcher] | None = None,
        attempt: int = 2,
        repo: str = "acme/web",
        provider_name: str = "github",
    ) -> TaskRun:
        resolver = Secrets.from_environ(os.environ).for_server(self.mask)
        return TaskRun(
            target=target,
            job_id=7,
            task_id=9,
            attempt=attempt,
            environment="staging",
            variables=dict(variables),
            files=list(files),
            command=None,
            timeout=timeout,
            log=self.lines.append,
            resolve=resolver.resolve,
            http=self.http,
            sandbox=sandbox or _unsandboxed,
            workspace=self.workspace,
            process_env={"PATH": os.environ.get("PATH", TEST_PATH)},
            provider=self._provider,
            repo=Repo(repo),
            provider_name=provider_name,
            default_branch=self._default_branch,
            dry_run=dry_run,
        )

    def logged(self, text: str) -> bool:
        """Whether any line the executor wrote holds `text`."""
        return any(text in line for line in self.lines)

    def _provider(self, name: str) -> Provider:
        self.providers_asked.append(name)
        return self.providers[name]

    async def _default_branch(self) -> str:
        self.default_branch_asked += 1
        return self.default_branch


def _unsandboxed(workspace: Path) -> Launcher:
    return Unsandboxed()
