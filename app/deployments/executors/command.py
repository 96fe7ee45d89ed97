"""The command deploy target: `bash -eo pipefail -c <command>` on the worker, in the step
sandbox, in the task's workspace, the release's values as `SHIPYARD_*` environment variables.

The command is the target's, registered server-side; values (a release name, a param) reach it
only through the environment, never spliced into its text. The environment is HOME (the
workspace; the sandbox gives its own) and LANG, then PATH and LANG from Shipyard's own, then
the variables. The task's files are written into the workspace first (mode 0600, owned like the
workspace, a symlink in their place replaced rather than followed). Output goes to the task's
log line by line, the exit code decides, and at the timeout or on cancellation the command's
whole process group is stopped (`steps.process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from app.deployments.executors.base import (
    CheckResult,
    DeployFailed,
    FileToWrite,
    TaskRun,
    Variables,
)
from app.deployments.targets.spec import CommandConnection
from steps.process import run_process
from steps.sandbox import Launcher, SandboxUnavailable, Unsandboxed

__all__ = ["SHELL", "CommandExecutor", "executor"]

SHELL = ("bash", "-eo", "pipefail", "-c")
CHECK_TIMEOUT = 30.0  # for `test`'s `true`


class CommandExecutor:
    """Write the files, run the target's command; its exit code decides."""

    type_name: ClassVar[str] = "command"

    async def deploy(self, run: TaskRun) -> None:
        command = _connection(run).command
        if run.dry_run:
            _log_dry_run(run, command, run.variables)
            return
        _check_workspace(run.workspace)
        for file in run.files:
            await _write_file(run, file)
        code = await _run(run, command, run.variables, "the deploy command")
        if code != 0:
            raise DeployFailed(f"the deploy command failed: {_exit_reason(code)}")
        run.log("the deploy command succeeded")

    async def run_command(self, run: TaskRun, command: str, variables: Variables) -> int:
        if run.dry_run:
            _log_dry_run(run, command, variables)
            return 0
        _check_workspace(run.workspace)
        return await _run(run, command, variables, "the command")

    async def test(self, run: TaskRun) -> CheckResult:
        _connection(run)
        if not run.workspace.is_dir():
            return CheckResult([("workspace", False, f"{run.workspace} is not there")])
        launcher = run.sandbox(run.workspace)
        sandbox = (
            "off (SHIPYARD_STEP_SANDBOX=none): commands run as Shipyard's own user"
            if isinstance(launcher, Unsandboxed)
            else "commands start in it"
        )
        lines: list[str] = []
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                code = await _start(run, launcher, "true", {}, lines.append)
        except SandboxUnavailable as error:
            return CheckResult([("sandbox", False, str(error))])
        except (OSError, ValueError, TimeoutError) as error:
            return CheckResult([("sandbox", True, sandbox), ("bash", False, _why(error))])
        said = f": {' '.join(lines)[:200]}" if lines else ""
        bash = (
            ("bash", True, "`true` ran")
            if code == 0
            else ("bash", False, f"`true` failed: {_exit_reason(code)}{said}")
        )
        return CheckResult([("sandbox", True, sandbox), bash])


async def _run(run: TaskRun, command: str, variables: Variables, what: str) -> int:
    launcher = run.sandbox(run.workspace)
    try:
        async with asyncio.timeout(run.timeout):
            return await _start(run, launcher, command, variables, run.log)
    except TimeoutError:
        raise DeployFailed(f"{what} timed out after {run.timeout:g}s and was stopped") from None
    except SandboxUnavailable as error:
        raise DeployFailed(f"{what} cannot run: {error}") from None
    except FileNotFoundError:
        raise DeployFailed("bash is not installed on this worker (or in its sandbox)") from None
    except (PermissionError, ValueError) as error:  # a variable name holding "=", say
        raise DeployFailed(f"{what} could not start: {error}") from None


async def _start(
    run: TaskRun,
    launcher: Launcher,
    command: str,
    variables: Variables,
    on_line: Callable[[str], None],
) -> int:
    return await run_process(
        [*SHELL, command],
        cwd=run.workspace,
        env=_environment(run.workspace, run.process_env, variables),
        on_line=on_line,
        launcher=launcher,
    )


def _environment(
    workspace: Path, process_env: Mapping[str, str], variables: Variables
) -> dict[str, str]:
    env = {"HOME": str(workspace), "LANG": "C.UTF-8", **process_env, **variables}
    return {name: value.replace("\0", "") for name, value in env.items()}


async def _write_file(run: TaskRun, file: FileToWrite) -> None:
    path = _file_path(run.workspace, file.filename)
    content = await file.fill()  # secrets resolved: written, never logged
    await asyncio.to_thread(_write, run.workspace, path, content)
    run.log(f"wrote {file.filename} (sha256 {file.sha256})")


def _file_path(workspace: Path, filename: str) -> Path:
    """Where `filename` goes: inside the workspace, or DeployFailed."""
    relative = Path(filename)
    if (
        not filename
        or "\0" in filename
        or relative.is_absolute()
        or ".." in relative.parts
        or relative == Path(".")
    ):
        raise DeployFailed(f"{filename!r} is not a file name inside the task's workspace")
    return workspace / relative


def _write(workspace: Path, path: Path, content: bytes) -> None:
    owner = workspace.stat()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.parent.resolve().is_relative_to(workspace.resolve()):
        raise DeployFailed(f"{path.relative_to(workspace)} leads outside the task's workspace")
    path.unlink(missing_ok=True)  # a symlink left there is replaced, never followed
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    with contextlib.suppress(PermissionError):
        os.chown(path, owner.st_uid, owner.st_gid)


def _check_workspace(workspace: Path) -> None:
    if not workspace.is_dir():
        raise DeployFailed(f"the task's workspace {workspace} is not there")


def _log_dry_run(run: TaskRun, command: str, variables: Variables) -> None:
    for file in run.files:
        run.log(f"dry run: would write {file.filename} (sha256 {file.sha256})")
    run.log("dry run: would run, in the step sandbox, by bash -eo pipefail -c:")
    for line in command.splitlines() or [""]:
        run.log(f"dry run: | {line}")
    run.log(f"dry run: with the variables {', '.join(sorted(variables)) or '(none)'}")


def _exit_reason(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def _why(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"`true` did not finish within {CHECK_TIMEOUT:g}s"
    if isinstance(error, FileNotFoundError):
        return "bash is not installed on this worker (or in its sandbox)"
    return str(error)


def _connection(run: TaskRun) -> CommandConnection:
    connection = run.target.connection
    if not isinstance(connection, CommandConnection):
        raise DeployFailed(
            f"target {run.target.name} is a {connection.type} target, not a command target"
        )
    return connection


executor = CommandExecutor()
