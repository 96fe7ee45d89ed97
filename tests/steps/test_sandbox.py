"""The step sandbox, for real (bubblewrap and slirp4netns): what a command can and cannot see,
reach and leave behind."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from steps.launchers import read_pipe
from steps.process import run_process
from steps.sandbox import (
    Bubblewrap,
    SandboxPolicy,
    SandboxUnavailable,
    find_tools,
)
from tests.support.services import require_sandbox
from tests.support.tcp import REACH, host_address, listening

STEP_USER = (65534, 65534)


@pytest.fixture
def workspace() -> Iterator[Path]:
    """A workspace the step user can reach and write, as Shipyard makes them."""
    root = Path(tempfile.mkdtemp(prefix="shipyard-sandbox-test-"))
    root.chmod(0o711)
    path = root / "workspaces" / "1"
    path.mkdir(parents=True)
    path.parent.chmod(0o711)
    if os.geteuid() == 0:
        os.chown(path, *STEP_USER)
    yield path
    shutil.rmtree(root, ignore_errors=True)


def sandbox(workspace: Path, *, network: bool = True) -> Bubblewrap:
    user = STEP_USER if os.geteuid() == 0 else None
    return Bubblewrap(require_sandbox(), workspace, network=network, user=user)


async def run(box: Bubblewrap, script: str, **env: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await run_process(
        ["bash", "-c", script],
        cwd=box.workspace,
        env={"PATH": "/usr/bin:/bin", **env},
        on_line=lines.append,
        launcher=box,
    )
    return code, lines


async def test_the_command_sees_its_workspace_and_nothing_of_the_worker(workspace: Path) -> None:
    secret_file = workspace.parent.parent / "shipyard.db"
    secret_file.write_text("database contents")
    script = f"""
    echo "uid=$(id -u)"
    echo "procs=$(ls /proc | grep -c '^[0-9]')"
    tr '\\0' '\\n' < /proc/1/environ | sed 's/^/pid1 /'
    tr '\\0' '\\n' < /proc/$PPID/environ | sed 's/^/parent /'
    cat {secret_file} 2>/dev/null && echo READ-THE-DATABASE
    ls {workspace.parent} 2>/dev/null | sed 's/^/sibling /'
    touch /usr/planted 2>/dev/null && echo WROTE-USR
    echo made > made.txt && echo "home=$HOME"
    """
    code, lines = await run(sandbox(workspace), script, STEP_VALUE="mine")
    assert code == 0, lines
    if os.geteuid() == 0:
        assert "uid=65534" in lines
    assert int(next(line for line in lines if line.startswith("procs=")).split("=")[1]) <= 6
    environment = {line for line in lines if line.startswith(("pid1 ", "parent "))}
    assert environment <= {
        f"{who} {name}"
        for who in ("pid1", "parent")
        for name in ("PATH=/usr/bin:/bin", "STEP_VALUE=mine", "HOME=/home/step")
    }, environment
    assert "READ-THE-DATABASE" not in lines
    assert [line for line in lines if line.startswith("sibling ")] in ([], ["sibling 1"])
    assert "WROTE-USR" not in lines
    assert "home=/home/step" in lines
    assert (workspace / "made.txt").read_text() == "made\n"


async def test_the_hosts_loopback_services_are_out_of_reach_and_the_network_is_not(
    workspace: Path,
) -> None:
    address = host_address()
    async with listening("0.0.0.0") as server:  # noqa: S104  (the host's own address, for the sandbox)
        port = server.port
        script = (
            REACH
            + f"""
        echo "loopback $(reach 127.0.0.1 {port})"
        echo "host-loopback $(reach 10.0.2.2 {port})"
        echo "postgres $(reach 127.0.0.1 5432)"
        echo "redis $(reach 127.0.0.1 6379)"
        echo "network $(reach {address} {port})"
        """
        )
        code, lines = await run(sandbox(workspace), script)
    assert code == 0, lines
    assert "loopback unreachable" in lines
    assert "host-loopback unreachable" in lines
    assert "postgres unreachable" in lines
    assert "redis unreachable" in lines
    assert "network hello" in lines  # outbound works, through slirp4netns


async def test_without_network_nothing_is_reachable(workspace: Path) -> None:
    address = host_address()
    async with listening("0.0.0.0") as server:  # noqa: S104
        port = server.port
        script = (
            f'timeout 5 bash -c "exec 3<>/dev/tcp/{address}/{port}" 2>/dev/null || echo cut-off'
        )
        code, lines = await run(sandbox(workspace, network=False), script)
    assert code == 0
    assert lines == ["cut-off"]


async def test_cancelling_the_command_ends_everything_in_the_sandbox(workspace: Path) -> None:
    box = sandbox(workspace)
    started = asyncio.Event()

    async def watch() -> None:
        lines: list[str] = []
        await run_process(
            ["bash", "-c", "sleep 300 & sleep 300 & echo started; wait"],
            cwd=workspace,
            env={"PATH": "/usr/bin:/bin"},
            on_line=lambda line: started.set() if line == "started" else lines.append(line),
            launcher=box,
        )

    task = asyncio.create_task(watch())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    leftovers = [
        pid
        for pid in os.listdir("/proc")
        if pid.isdigit() and _cmdline(pid).startswith("sleep\0300")
    ]
    assert leftovers == []


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


async def test_no_sandbox_on_this_machine_says_what_to_do(workspace: Path) -> None:
    reason = find_tools("/nonexistent")
    assert isinstance(reason, str)
    assert "apt-get install bubblewrap slirp4netns" in reason
    assert "SHIPYARD_STEP_SANDBOX=none" in reason
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        await run_process(
            ["true"],
            cwd=workspace,
            env={},
            on_line=print,
            launcher=SandboxPolicy(reason).launcher(workspace, network=True),
        )


def test_a_data_dir_the_step_user_cannot_pass_is_named(workspace: Path) -> None:
    hidden = workspace / "private"
    (hidden / "workspaces" / "1").mkdir(parents=True)
    hidden.chmod(0o700)
    policy = SandboxPolicy(require_sandbox(), user=STEP_USER)
    launcher = policy.launcher(hidden / "workspaces" / "1", network=True)
    reason = str(getattr(launcher, "reason", ""))
    assert f"cannot reach the workspaces: {hidden} lets no one else through" in reason
    assert policy.launcher(workspace, network=True) == sandbox(workspace)


async def test_bubblewraps_info_is_read_to_its_end() -> None:
    """bubblewrap writes its info in pieces; closing the pipe after the first would kill it
    with SIGPIPE (under load, a step of `true` "killed by signal 13")."""
    readable, writable = os.pipe()
    try:
        os.write(writable, b'{\n    "child-pid": 7')
        reading = asyncio.create_task(read_pipe(readable, "the sandbox", to_end=True))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not reading.done()  # still reading: bubblewrap has not closed its end
        os.write(writable, b"\n}\n")
        os.close(writable)
        writable = -1
        await reading
    finally:
        os.close(readable)
        if writable >= 0:
            os.close(writable)
