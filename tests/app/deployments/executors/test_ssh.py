"""The ssh executor against a real OpenSSH server (Debian's, its config unchanged): the files,
the command and its variables, streaming, host keys, connection reuse, stopping a command,
`test` and dry runs."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
from pathlib import Path

import pytest

from app.deployments.executors.base import DeployFailed
from app.deployments.executors.ssh import STATE_DIR, executor
from app.deployments.executors.ssh_pool import SshConnections
from tests.support.deploy_runs import Recorder, file_to_write, ssh_target, task_run
from tests.support.http import free_port
from tests.support.processes import descendants
from tests.support.sshd import (
    Sshd,
    another_host_key,
    another_user_key,
    effective_config,
)
from tests.support.waiting import until

SECRET = "pa55-w0rd-from-the-store"
# Writes what the command sees: its directory, and its environment NUL-separated.
DUMP = "pwd > where\nenv -0 > seen.env\n"
# Starts a long sleep in the command's process group, and says which pid it has.
SLEEP = "sleep 600 &\necho $! > sleep.pid\nwait\n"


def tricky_variables(pwned: Path) -> dict[str, str]:
    """Values a shell would run or split if they were spliced into a command line."""
    return {
        "SHIPYARD_RELEASE": "v1.2.3",
        "SHIPYARD_PARAM_QUOTES": "it's \"quoted\" 'twice' \\ back",
        "SHIPYARD_PARAM_SPACES": "  two  words  ",
        "SHIPYARD_PARAM_SUBST": f"$(touch {pwned}) `touch {pwned}` ${{HOME}}",
        "SHIPYARD_PARAM_LINES": f"first line\nsecond; touch {pwned}\n",
        "SHIPYARD_PARAM_EMPTY": "",
    }


def seen_environment(path: Path) -> dict[str, str]:
    entries = path.read_bytes().decode().split("\0")
    return dict(entry.partition("=")[::2] for entry in entries if entry)


def sleeping(pid: int) -> bool:
    """Whether `pid` is still the command's `sleep 600` (not another process, not a zombie)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return cmdline == b"sleep\x00600\x00" and state != "Z"


async def sleep_started(workdir: Path) -> int:
    pid_file = workdir / "sleep.pid"
    text = await until(
        lambda: asyncio.to_thread(lambda: pid_file.read_text() if pid_file.exists() else ""),
        lambda text: text.endswith("\n"),
    )
    assert text, "the command never started its sleep"
    pid = int(text)
    assert sleeping(pid)
    return pid


async def stopped(pid: int) -> bool:
    """Wait (about 20 s at most) for the sleep to be gone; whether it is."""

    async def running() -> bool:
        return sleeping(pid)

    return not await until(running, lambda alive: not alive)


def state_files(workdir: Path) -> list[str]:
    return sorted(path.name for path in (workdir / STATE_DIR).iterdir())


async def test_a_deploy_to_four_targets_writes_the_files_and_runs_the_command_in_each(
    sshd: Sshd,
) -> None:
    pwned = sshd.directory / "pwned"
    variables = tricky_variables(pwned)
    compose = file_to_write("compose.yml", b"services:\n  web: {image: 'acme/web@sha256:ab'}\n")
    env = file_to_write("app.env", b"PASSWORD=secret://db\n", f"PASSWORD={SECRET}\n".encode())
    recorder = Recorder()
    pool = SshConnections()
    targets = [ssh_target(sshd, f"web-{n}", sshd.work_dir(f"web-{n}")) for n in range(4)]
    runs = [
        task_run(
            target,
            recorder,
            command=DUMP,
            files=[compose, env],
            variables=variables,
            task_id=n,
            connections=pool,
        )
        for n, target in enumerate(targets)
    ]
    try:
        await asyncio.gather(*(executor.deploy(run) for run in runs))
    finally:
        await pool.aclose()

    for n in range(4):
        workdir = sshd.work_dir(f"web-{n}")
        assert (workdir / "where").read_text() == f"{workdir}\n"
        seen = seen_environment(workdir / "seen.env")
        assert {name: seen.get(name) for name in variables} == variables
        written = (workdir / "compose.yml").read_bytes()
        assert written == compose.content
        assert hashlib.sha256(written).hexdigest() == compose.sha256
        assert (workdir / "app.env").read_bytes() == f"PASSWORD={SECRET}\n".encode()
        assert (workdir / "app.env").stat().st_mode & 0o777 == 0o600
    assert not pwned.exists()
    assert pool.opened == 4
    key = sshd.key_path.read_text()
    assert not [line for line in recorder.lines if SECRET in line or key in line]
    assert f"writing {sshd.work_dir('web-0')}/app.env" in "\n".join(recorder.lines)


async def test_a_second_deploy_replaces_the_files_whole(sshd: Sshd) -> None:
    workdir = sshd.work_dir("web")
    target = ssh_target(sshd, "web", workdir)
    for content in (b"version: 1\n" * 1000, b"version: 2\n"):
        files = [file_to_write("compose.yml", content)]
        await executor.deploy(task_run(target, Recorder(), command="true\n", files=files))

    assert (workdir / "compose.yml").read_bytes() == b"version: 2\n"
    assert sorted(path.name for path in workdir.iterdir()) == [STATE_DIR, "compose.yml"]


async def test_a_work_dir_that_cannot_be_made_fails_the_deploy_saying_so(sshd: Sshd) -> None:
    workdir = sshd.key_path / "web"  # below a file
    run = task_run(ssh_target(sshd, "web", workdir), Recorder(), command="true\n")

    with pytest.raises(DeployFailed, match=f"^could not make the work dir {workdir}: "):
        await executor.deploy(run)


async def test_the_env_file_is_0600_while_the_command_runs_and_gone_after(sshd: Sshd) -> None:
    workdir = sshd.work_dir("web")
    command = f"stat -c %a {STATE_DIR}/env-* > env-mode\nls -A {STATE_DIR} > during\n"
    run = task_run(ssh_target(sshd, "web", workdir), Recorder(), command=command)

    await executor.deploy(run)

    assert (workdir / "env-mode").read_text() == "600\n"
    during = (workdir / "during").read_text().split()
    assert [name.split("-")[0] for name in during] == ["env", "run"]
    assert state_files(workdir) == []


async def test_output_reaches_the_log_line_by_line_as_it_comes(sshd: Sshd) -> None:
    workdir = sshd.work_dir("web")
    # The command goes on only once the test has seen "ready" in the log: output kept until
    # the end would never let it (it gives up after 20 s, failing).
    command = (
        "echo first\necho second >&2\necho ready\n"
        "for i in $(seq 200); do [ -e go ] && break; sleep 0.1; done\n"
        "[ -e go ] || { echo 'nobody answered'; exit 7; }\n"
        "printf 'last, without a newline'\n"
    )
    recorder = Recorder()
    run = task_run(ssh_target(sshd, "web", workdir), recorder, command=command)
    deploy = asyncio.create_task(executor.deploy(run))

    async def lines() -> list[str]:
        return list(recorder.lines)

    await until(lines, lambda seen: "ready" in seen)
    (workdir / "go").touch()
    await deploy

    assert recorder.lines == ["first", "second", "ready", "last, without a newline"]


async def test_a_failing_command_fails_the_deploy_with_its_exit_code_and_output(
    sshd: Sshd,
) -> None:
    recorder = Recorder()
    command = "echo before\necho 'went wrong' >&2\nexit 3\necho never\n"
    run = task_run(ssh_target(sshd, "web", sshd.work_dir("web")), recorder, command=command)

    with pytest.raises(DeployFailed, match=r"^exit code 3$"):
        await executor.deploy(run)

    assert recorder.lines == ["before", "went wrong"]


async def test_a_command_killed_by_a_signal_says_which(sshd: Sshd) -> None:
    run = task_run(
        ssh_target(sshd, "web", sshd.work_dir("web")), Recorder(), command="kill -KILL $$\n"
    )

    with pytest.raises(DeployFailed, match=r"^killed by signal SIGKILL$"):
        await executor.deploy(run)


@pytest.mark.parametrize("form", ["known_host", "fingerprint"])
async def test_a_host_with_another_key_is_refused_before_logging_in(
    sshd: Sshd, tmp_path: Path, form: str
) -> None:
    other_line, other_fingerprint = another_host_key(tmp_path)
    workdir = sshd.work_dir("web")
    if form == "known_host":
        target = ssh_target(sshd, "web", workdir, known_host=other_line)
        expected = f"ssh-ed25519 {other_fingerprint}"
    else:
        target = ssh_target(sshd, "web", workdir, fingerprint=other_fingerprint)
        expected = other_fingerprint
    files = [file_to_write("compose.yml", b"services: {}\n")]
    run = task_run(target, Recorder(), command="touch ran\n", files=files)

    with pytest.raises(DeployFailed) as failed:
        await executor.deploy(run)

    message = str(failed.value)
    assert "is not the target's" in message
    assert f"offered ssh-ed25519 {sshd.host_fingerprint}" in message
    assert f"expected {expected}." in message
    assert sshd.key_path.read_text() not in message
    assert not workdir.exists()
    assert sshd.logins() == 0


async def test_the_host_key_fingerprint_form_is_accepted_when_it_matches(sshd: Sshd) -> None:
    workdir = sshd.work_dir("web")
    target = ssh_target(sshd, "web", workdir, fingerprint=sshd.host_fingerprint)

    await executor.deploy(task_run(target, Recorder(), command="touch ran\n"))

    assert (workdir / "ran").exists()


def test_the_test_server_keeps_debians_accepted_environment(sshd: Sshd) -> None:
    config = effective_config(sshd.directory, sshd.port)

    assert [value for name, value in config if name == "acceptenv"] == ["LANG", "LC_*"]
    assert ("port", str(sshd.port)) in config


async def test_the_tasks_of_one_job_share_one_connection_to_a_target(sshd: Sshd) -> None:
    pool = SshConnections()
    target = ssh_target(sshd, "web", sshd.work_dir("web"))
    recorder = Recorder()
    try:
        for task_id in (1, 2):
            run = task_run(target, recorder, command="true\n", job_id=7, task_id=task_id)
            run.connections = pool
            await executor.deploy(run)
        check = task_run(target, recorder, job_id=7, task_id=3, connections=pool)
        assert await executor.run_command(check, "exit 4\n", {}) == 4
        assert (pool.opened, sshd.logins()) == (1, 1)

        other_job = task_run(target, recorder, command="true\n", job_id=8, connections=pool)
        await executor.deploy(other_job)
        assert (pool.opened, sshd.logins(), len(pool)) == (2, 2, 2)

        await pool.close_job(7)
        assert len(pool) == 1
        assert await until(lambda: asyncio.to_thread(sshd.logouts), lambda n: n == 1) == 1
    finally:
        await pool.aclose()
    assert await until(lambda: asyncio.to_thread(sshd.logouts), lambda n: n == 2) == 2


async def test_a_connection_that_died_is_opened_again(sshd: Sshd) -> None:
    pool = SshConnections()
    target = ssh_target(sshd, "web", sshd.work_dir("web"))
    recorder = Recorder()
    try:
        await executor.deploy(task_run(target, recorder, command="true\n", connections=pool))
        async with pool.use(1, target, recorder.resolve) as connection:
            pass
        for pid, _ in descendants(sshd.process.pid):  # the server's side of the connection
            os.kill(pid, signal.SIGKILL)

        async def closed() -> bool:
            return connection.is_closed()

        assert await until(closed, bool)
        await executor.deploy(task_run(target, recorder, command="touch ran\n", connections=pool))
    finally:
        await pool.aclose()

    assert (sshd.work_dir("web") / "ran").exists()
    assert (pool.opened, sshd.logins()) == (2, 2)


async def test_a_connection_nobody_uses_is_closed_after_a_while(sshd: Sshd) -> None:
    pool = SshConnections(idle_seconds=0.2)
    target = ssh_target(sshd, "web", sshd.work_dir("web"))
    try:
        await executor.deploy(task_run(target, Recorder(), command="true\n", connections=pool))

        async def held() -> int:
            return len(pool)

        assert await until(held, lambda n: n == 0) == 0
        assert await until(lambda: asyncio.to_thread(sshd.logouts), lambda n: n == 1) == 1
    finally:
        await pool.aclose()


async def test_a_deploy_that_runs_too_long_is_stopped_on_the_host(sshd: Sshd) -> None:
    workdir = sshd.work_dir("web")
    run = task_run(ssh_target(sshd, "web", workdir), Recorder(), command=SLEEP, timeout=3)

    with pytest.raises(DeployFailed, match=r"^timed out after 3s; the command was stopped$"):
        await executor.deploy(run)

    pid = int((workdir / "sleep.pid").read_text())  # it had started
    assert await stopped(pid)
    assert state_files(workdir) == []


async def test_a_cancelled_deploy_stops_the_command_and_cancels_on(sshd: Sshd) -> None:
    workdir = sshd.work_dir("web")
    run = task_run(ssh_target(sshd, "web", workdir), Recorder(), command=SLEEP)
    deploy = asyncio.create_task(executor.deploy(run))
    pid = await sleep_started(workdir)

    deploy.cancel()
    with pytest.raises(asyncio.CancelledError):
        await deploy

    assert await stopped(pid)
    assert state_files(workdir) == []


async def test_run_command_gives_the_exit_code_and_streams_the_output(sshd: Sshd) -> None:
    recorder = Recorder()
    run = task_run(ssh_target(sshd, "web", sshd.work_dir("web")), recorder)

    code = await executor.run_command(run, 'echo "$GREETING"\nexit 5\n', {"GREETING": "hi 'you'"})

    assert code == 5
    assert recorder.lines == ["hi 'you'"]


async def test_test_reports_each_check_passing(sshd: Sshd) -> None:
    workdir = sshd.work_dir("web")
    result = await executor.test(task_run(ssh_target(sshd, "web", workdir), Recorder()))

    assert result.ok
    assert result.checks[2][2] == f"ssh-ed25519 {sshd.host_fingerprint}"
    assert [(what, ok) for what, ok, _ in result.checks] == [
        (f"read the private key file://{sshd.key_path}", True),
        (f"reach 127.0.0.1:{sshd.port}", True),
        ("the host key matches the target's known_host", True),
        (f"log in as {sshd.user}", True),
        (f"the work dir {workdir} is writable", True),
    ]
    assert list(workdir.iterdir()) == []  # made, and nothing left in it


async def test_test_reports_a_key_the_host_refuses(sshd: Sshd, tmp_path: Path) -> None:
    workdir = sshd.work_dir("web")
    target = ssh_target(sshd, "web", workdir, key_path=another_user_key(tmp_path))

    result = await executor.test(task_run(target, Recorder()))

    assert not result.ok
    assert [(what, ok) for what, ok, _ in result.checks][-2:] == [
        ("the host key matches the target's known_host", True),
        (f"log in as {sshd.user}", False),
    ]
    assert "refused the target's key" in result.checks[-1][2]
    assert not workdir.exists()


async def test_test_reports_a_wrong_host_key_and_an_unreachable_host(
    sshd: Sshd, tmp_path: Path
) -> None:
    _, other_fingerprint = another_host_key(tmp_path)
    wrong_key = ssh_target(sshd, "web", sshd.work_dir("web"), fingerprint=other_fingerprint)
    unreachable = ssh_target(sshd, "web", sshd.work_dir("web"), port=free_port())

    refused = await executor.test(task_run(wrong_key, Recorder()))
    down = await executor.test(task_run(unreachable, Recorder()))

    assert [ok for _, ok, _ in refused.checks] == [True, True, False]
    assert sshd.host_fingerprint in refused.checks[-1][2]
    assert [ok for _, ok, _ in down.checks] == [True, False]
    assert down.checks[-1][2].startswith("could not connect to 127.0.0.1:")


async def test_a_dry_run_logs_in_and_writes_and_runs_nothing(sshd: Sshd) -> None:
    workdir = sshd.work_dir("web")
    recorder = Recorder()
    pool = SshConnections()
    files = [file_to_write("compose.yml", b"services: {}\n")]
    digest = hashlib.sha256(b"services: {}\n").hexdigest()
    run = task_run(
        ssh_target(sshd, "web", workdir),
        recorder,
        command="touch ran\n",
        files=files,
        variables={"SHIPYARD_RELEASE": SECRET},
        connections=pool,
        dry_run=True,
    )

    try:
        await executor.deploy(run)
    finally:
        await pool.aclose()

    assert not workdir.exists()
    assert pool.opened == 1
    assert await until(lambda: asyncio.to_thread(sshd.logins), lambda n: n == 1) == 1
    assert f"dry run: would write {workdir}/compose.yml (13 bytes, sha256 {digest})" in (
        recorder.lines
    )
    assert "dry run: | touch ran" in recorder.lines
    assert not [line for line in recorder.lines if SECRET in line]


async def test_without_a_deploy_command_nothing_is_done(sshd: Sshd) -> None:
    pool = SshConnections()
    target = ssh_target(sshd, "web", sshd.work_dir("web"))
    run = task_run(target, Recorder(), command=None, connections=pool)

    with pytest.raises(DeployFailed, match=r"the environment has no deploy\.command for ssh"):
        await executor.deploy(run)

    assert pool.opened == 0


async def test_a_variable_name_no_shell_takes_is_refused_before_connecting(sshd: Sshd) -> None:
    pool = SshConnections()
    run = task_run(
        ssh_target(sshd, "web", sshd.work_dir("web")),
        Recorder(),
        command="true\n",
        variables={"BAD NAME;touch x": "1"},
        connections=pool,
    )

    with pytest.raises(DeployFailed, match="is not a valid environment variable name"):
        await executor.deploy(run)

    assert pool.opened == 0
