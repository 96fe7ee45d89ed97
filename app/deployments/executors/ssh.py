"""The ssh executor: the release's files by SFTP into the target's work dir, then the deploy
command there, its output streamed to the task's log line by line.

Nothing is spliced into a command line. The variables go into an env file (0600, removed when
the command ends) and the command into a script, both in the work dir's `.shipyard/`; what
runs is a fixed wrapper naming only paths Shipyard chose. SSH's own environment passing is not
used: Debian's sshd accepts only LANG and LC_*. The target needs a POSIX login shell and bash.

The wrapper prints its pid first (the session leader's, so its process group's), marked with
the run's own name. Closing the channel does not stop a command without a terminal, and
OpenSSH refuses SSH's signal request in common setups (Debian's sshd: "session signalling
requires privilege separation"), so a command is stopped (timeout, cancellation) by `kill` of
that group over a second channel: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import secrets
import shlex
import signal
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import PurePosixPath
from typing import ClassVar

from app.deployments.executors.base import (
    CheckResult,
    DeployFailed,
    FileToWrite,
    TaskRun,
    Variables,
)
from app.deployments.executors.ssh_connections import (
    ConnectFailed,
    open_connection,
    ssh_connection,
)
from app.deployments.executors.ssh_pool import SshConnections
from app.deployments.executors.sshlib import asyncssh
from steps.config_types import ENV_NAME
from steps.process import GRACE_SECONDS, STOP_NOW

__all__ = ["SshExecutor", "env_file", "executor"]

STATE_DIR = ".shipyard"  # in the work dir: a running command's env file and script
_FILE_MODE = 0o600  # written files may hold resolved secrets
_CHUNK = 64 * 1024
_MAX_LINE = 64 * 1024  # a longer "line" is logged in pieces
_CHANNEL_ERRORS = (asyncssh.Error, OSError)
_STAGES = ("credential", "connect", "host key", "authenticate")


class SshExecutor:
    type_name: ClassVar[str] = "ssh"

    async def deploy(self, run: TaskRun) -> None:
        ssh = ssh_connection(run.target)
        if run.command is None:
            raise DeployFailed(
                "the environment has no deploy.command for ssh targets: say what to run in the "
                "work dir (it finds the release in SHIPYARD_* variables)"
            )
        env = env_file(run.variables)
        for file in run.files:
            _check_filename(file.filename)
        if run.dry_run:
            await _dry_run(run, run.command)
            return
        try:
            async with asyncio.timeout(run.timeout) as deadline, _connection(run) as conn:
                code = await _run(conn, ssh.workdir, run.command, env, run, files=run.files)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise DeployFailed(
                f"timed out after {run.timeout:g}s; the command was stopped"
            ) from None
        if code != 0:
            raise DeployFailed(_exit_reason(code))

    async def run_command(self, run: TaskRun, command: str, variables: Variables) -> int:
        ssh = ssh_connection(run.target)
        env = env_file(variables)
        if run.dry_run:
            await _dry_run(run, command)
            return 0
        async with _connection(run) as conn:
            code = await _run(conn, ssh.workdir, command, env, run)
        return code

    async def test(self, run: TaskRun) -> CheckResult:
        """A connection of its own (opening one is what is checked), then the work dir."""
        ssh = ssh_connection(run.target)
        names = _check_names(run)
        try:
            conn = await open_connection(run.target, run.resolve)
        except ConnectFailed as failed:
            done = _STAGES.index(failed.stage)
            passed = [(names[stage], True, "ok") for stage in _STAGES[:done]]
            return CheckResult([*passed, (names[failed.stage], False, str(failed))])
        try:
            workdir = await _check_workdir(conn, ssh.workdir)
        finally:
            conn.close()
            await conn.wait_closed()
        details = {"host key": _host_key(conn), "authenticate": "the key was accepted"}
        passed = [(names[stage], True, details.get(stage, "ok")) for stage in _STAGES]
        return CheckResult([*passed, workdir])


executor = SshExecutor()


def env_file(variables: Variables) -> str:
    """The variables as `export NAME='value'` lines for a POSIX shell to source (pure)."""
    lines = ["# Written by Shipyard for one command, and removed when it ends."]
    for name, value in variables.items():
        if not ENV_NAME.fullmatch(name):
            raise DeployFailed(f"{name!r} is not a valid environment variable name")
        if "\0" in value:
            raise DeployFailed(f"variable {name} holds a NUL character, which no variable can")
        quoted = "'" + value.replace("'", "'\\''") + "'"
        lines.append(f"export {name}={quoted}")
    return "\n".join(lines) + "\n"


def _check_filename(filename: str) -> None:
    path = PurePosixPath(filename)
    parts = filename.split("/")
    if path.is_absolute() or any(part in ("", ".", "..") for part in parts):
        raise DeployFailed(f"{filename!r}: a file to write is a path inside the work dir")
    if parts[0] == STATE_DIR:
        raise DeployFailed(f"{filename!r}: {STATE_DIR}/ in the work dir is Shipyard's own")


@contextlib.asynccontextmanager
async def _connection(run: TaskRun) -> AsyncIterator[asyncssh.SSHClientConnection]:
    """The job's pooled connection to the target; one of its own without a pool."""
    pool = run.connections
    if pool is not None and not isinstance(pool, SshConnections):
        raise TypeError(f"TaskRun.connections is a {type(pool).__name__}, not SshConnections")
    own = pool is None
    if pool is None:
        pool = SshConnections()
    ssh = ssh_connection(run.target)
    where = f"{ssh.host}:{ssh.port}"
    try:
        async with pool.use(run.job_id, run.target, run.resolve) as conn:
            yield conn
    except asyncssh.SFTPError as error:
        raise DeployFailed(f"{where} refused a file operation: {error.reason}") from None
    except _CHANNEL_ERRORS as error:
        raise DeployFailed(f"the connection to {where} failed: {error}") from None
    finally:
        if own:
            await pool.aclose()


async def _dry_run(run: TaskRun, command: str) -> None:
    """Connect and log in (that much is checked), then say what would be done."""
    ssh = ssh_connection(run.target)
    async with _connection(run):
        pass
    run.log(f"dry run: logged in as {ssh.user} on {ssh.host}:{ssh.port}; nothing is written or run")
    for file in run.files:
        run.log(f"dry run: would write {_file_line(ssh.workdir, file)}")
    names = ", ".join(sorted(run.variables)) or "none"
    run.log(f"dry run: would run in {ssh.workdir}, with the variables {names}:")
    for line in command.splitlines():
        run.log(f"dry run: | {line}")


def _file_line(workdir: str, file: FileToWrite) -> str:
    where = posixpath.join(workdir, file.filename)
    return f"{where} ({len(file.content)} bytes, sha256 {file.sha256})"


async def _upload(
    sftp: asyncssh.SFTPClient,
    workdir: str,
    files: Sequence[FileToWrite],
    log: Callable[[str], None],
) -> None:
    """Write `files` into the work dir; their bytes are never logged."""
    for file in files:
        path = posixpath.join(workdir, file.filename)
        log(f"writing {_file_line(workdir, file)}")
        with _refused(f"could not write {path}"):
            await sftp.makedirs(posixpath.dirname(path), exist_ok=True)
            await _write(sftp, path, await file.fill())


@contextlib.contextmanager
def _refused(what: str) -> Iterator[None]:
    """An SFTP error as DeployFailed saying what could not be done, and the server's why."""
    try:
        yield
    except asyncssh.SFTPError as error:
        raise DeployFailed(f"{what}: {error.reason}") from None


async def _write(sftp: asyncssh.SFTPClient, path: str, data: bytes) -> None:
    """`data` into `path` (0600), whole or not at all: a new file renamed over the old one."""
    temporary = f"{path}.{secrets.token_hex(4)}.partial"
    try:
        attrs = asyncssh.SFTPAttrs(permissions=_FILE_MODE)
        async with sftp.open(temporary, "xb", attrs) as remote:
            await remote.write(data)
        await sftp.posix_rename(temporary, path)
    except BaseException:
        with contextlib.suppress(*_CHANNEL_ERRORS):
            await sftp.remove(temporary)
        raise


async def _run(
    conn: asyncssh.SSHClientConnection,
    workdir: str,
    command: str,
    env: str,
    run: TaskRun,
    *,
    files: Sequence[FileToWrite] = (),
) -> int:
    """`files` into the work dir (made if missing), then `command` there with the env file
    sourced; its exit code (negative: a signal). The env file and the script are removed
    however it ends."""
    name = f"{run.task_id}-{run.attempt}-{secrets.token_hex(4)}"
    state = posixpath.join(workdir, STATE_DIR)
    staged = [f"{state}/env-{name}", f"{state}/run-{name}.sh"]
    async with conn.start_sftp_client() as sftp:
        with _refused(f"could not make the work dir {workdir}"):
            await sftp.makedirs(workdir, exist_ok=True)
        await _upload(sftp, workdir, files, run.log)
        try:
            with _refused(f"could not write the command's files into {state}"):
                await sftp.makedirs(state, asyncssh.SFTPAttrs(permissions=0o700), exist_ok=True)
                await _write(sftp, staged[0], env.encode())
                await _write(sftp, staged[1], command.encode())
            return await _execute(conn, _wrapper(workdir, name), name, run.log)
        finally:
            await _remove(sftp, staged, run.log)


def _wrapper(workdir: str, name: str) -> str:
    """The fixed command line: only paths Shipyard chose, the work dir quoted."""
    return (
        f'exec 2>&1 </dev/null; echo "shipyard-pid-{name} $$"; '
        f"cd {shlex.quote(workdir)} && . ./{STATE_DIR}/env-{name} && "
        f"exec bash -eo pipefail ./{STATE_DIR}/run-{name}.sh"
    )


async def _remove(
    sftp: asyncssh.SFTPClient, paths: Sequence[str], log: Callable[[str], None]
) -> None:
    try:
        async with asyncio.timeout(GRACE_SECONDS):
            for path in paths:
                with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                    await sftp.remove(path)
    except (*_CHANNEL_ERRORS, TimeoutError) as error:
        log(f"could not remove {', '.join(paths)} ({error}): remove them, they may hold secrets")


async def _execute(
    conn: asyncssh.SSHClientConnection, wrapper: str, name: str, log: Callable[[str], None]
) -> int:
    """Run `wrapper`, its output to `log`; on cancellation stop it, then go on cancelling."""
    process = await conn.create_process(wrapper, encoding=None, stderr=asyncssh.STDOUT)
    process.stdin.write_eof()
    output = _Output(log, f"shipyard-pid-{name} ")
    pump = asyncio.create_task(output.pump(process.stdout))
    try:
        await asyncio.wait([pump])  # a cancellation stops the waiting, not the pump
        pump.result()
        await process.wait_closed()
    except asyncio.CancelledError as cancelled:
        await _stop(conn, process, output, now=STOP_NOW in cancelled.args)
        raise
    except _CHANNEL_ERRORS as error:
        raise DeployFailed(f"the connection failed while the command ran: {error}") from None
    finally:
        process.close()
        await _finish(pump)
    if process.returncode is None:
        raise DeployFailed("the connection closed before the command ended; it may still run")
    return process.returncode


async def _stop(
    conn: asyncssh.SSHClientConnection,
    process: asyncssh.SSHClientProcess[bytes],
    output: _Output,
    *,
    now: bool,
) -> None:
    """SIGTERM to the command's process group, SIGKILL after the grace period (at once with
    `now`); the group is known from the wrapper's first line."""
    await asyncio.wait([output.pid], timeout=GRACE_SECONDS)
    pid = output.pid.result() if output.pid.done() else None
    if pid is None:
        return
    if not now:
        await _kill(conn, pid, "TERM")
        with contextlib.suppress(TimeoutError, *_CHANNEL_ERRORS):
            async with asyncio.timeout(GRACE_SECONDS):
                await process.wait_closed()
                return
    await _kill(conn, pid, "KILL")


async def _kill(conn: asyncssh.SSHClientConnection, pid: int, signal_name: str) -> None:
    with contextlib.suppress(TimeoutError, *_CHANNEL_ERRORS):
        async with asyncio.timeout(GRACE_SECONDS):
            await conn.run(f"kill -{signal_name} -- -{pid}", check=False)


async def _finish(pump: asyncio.Task[None]) -> None:
    """The output's last lines (at most a grace period), then the pump is done."""
    await asyncio.wait([pump], timeout=GRACE_SECONDS)
    pump.cancel()
    with contextlib.suppress(asyncio.CancelledError, *_CHANNEL_ERRORS):
        await pump


class _Output:
    """The command's output to the log, line by line; the wrapper's pid line is kept apart."""

    def __init__(self, log: Callable[[str], None], pid_mark: str) -> None:
        self._log = log
        self._pid_mark = pid_mark
        self.pid: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    async def pump(self, stream: asyncssh.SSHReader[bytes]) -> None:
        pending = b""
        try:
            while chunk := await stream.read(_CHUNK):
                *lines, pending = (pending + chunk).split(b"\n")
                if len(pending) >= _MAX_LINE:
                    lines, pending = [*lines, pending], b""
                for line in lines:
                    for start in range(0, max(len(line), 1), _MAX_LINE):
                        self._line(line[start : start + _MAX_LINE])
            if pending:
                self._line(pending)
        finally:
            if not self.pid.done():
                self.pid.set_result(None)

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not self.pid.done() and text.startswith(self._pid_mark):
            self.pid.set_result(int(text.removeprefix(self._pid_mark)))
            return
        self._log(text)


def _host_key(conn: asyncssh.SSHClientConnection) -> str:
    key = conn.get_server_host_key()
    return "ok" if key is None else f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"


def _exit_reason(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by signal {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _check_names(run: TaskRun) -> dict[str, str]:
    ssh = ssh_connection(run.target)
    key = "known_host" if ssh.known_host is not None else "host_key_fingerprint"
    return {
        "credential": f"read the private key {run.target.credential}",
        "connect": f"reach {ssh.host}:{ssh.port}",
        "host key": f"the host key matches the target's {key}",
        "authenticate": f"log in as {ssh.user}",
    }


async def _check_workdir(conn: asyncssh.SSHClientConnection, workdir: str) -> tuple[str, bool, str]:
    """Whether the work dir exists (or can be made) and a file can be written there."""
    what = f"the work dir {workdir} is writable"
    probe = posixpath.join(workdir, f".shipyard-test-{secrets.token_hex(4)}")
    try:
        async with conn.start_sftp_client() as sftp:
            await sftp.makedirs(workdir, exist_ok=True)
            async with sftp.open(probe, "xb", asyncssh.SFTPAttrs(permissions=_FILE_MODE)):
                pass
            await sftp.remove(probe)
    except _CHANNEL_ERRORS as error:
        return what, False, f"{workdir}: {getattr(error, 'reason', error)}"
    return what, True, "ok"
