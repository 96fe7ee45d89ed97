"""The command executor with real processes: files written first, the release's values as
variables (never spliced), the exit code, the timeout and cancellation stopping the whole
process tree; in the real sandbox where the machine has bubblewrap, unsandboxed for speed
where the sandbox is not the subject."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.deployments.executors.base import DeployFailed, TargetInfo
from app.deployments.executors.command import executor
from steps.sandbox import Launcher, SandboxPolicy, Unavailable
from tests.support.deploy_tasks import VARIABLES, TaskHarness, file_to_write, target
from tests.support.services import require_sandbox

STEP_USER = (65534, 65534)
FILLED_SECRET = "db-password-4c3b2a1908f7e6d5"
COMPOSE = file_to_write("compose.yml", b"services: {web: {image: ghcr.io/acme/web@sha256:11}}\n")
ENV_FILE = file_to_write(
    "config/app.env", b"DB_PASSWORD=env://DB_PASSWORD\n", f"DB_PASSWORD={FILLED_SECRET}\n".encode()
)
HOSTILE = 'it\'s "quoted" $(touch pwned) `touch pwned`; touch pwned\nsecond line\n\t$HOME'
FAMILY = """
sleep 30 & echo $! > "$W/child.pid"
bash -c 'sleep 30 & echo $! > "$W/grandchild.pid"; wait' &
wait
"""


@pytest.fixture
def workspace() -> Iterator[Path]:
    """A task's workspace as the worker makes it: reachable by the step user, and its own."""
    root = Path(tempfile.mkdtemp(prefix="shipyard-command-test-"))
    root.chmod(0o711)
    path = root / "workspaces" / "1"
    path.mkdir(parents=True)
    path.parent.chmod(0o711)
    if os.geteuid() == 0:
        os.chown(path, *STEP_USER)
    yield path
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def harness(workspace: Path) -> AsyncIterator[TaskHarness]:
    async with httpx.AsyncClient() as http:
        yield TaskHarness(workspace, http)


def sandboxed() -> Callable[[Path], Launcher]:
    """The step sandbox, as the worker builds it (skipped without bubblewrap, failed in CI)."""
    policy = SandboxPolicy(require_sandbox(), user=STEP_USER if os.geteuid() == 0 else None)
    return lambda workspace: policy.launcher(workspace, network=True)


def unavailable(workspace: Path) -> Launcher:
    return Unavailable("bubblewrap is not installed: install it, or set SHIPYARD_STEP_SANDBOX")


def commanding(script: str) -> TargetInfo:
    return target({"type": "command", "command": script})


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that is not ours to reap."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_dead(*pids: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if alive(p)]}"
        await asyncio.sleep(0.05)


def read_if_there(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def owner(path: Path) -> int:
    return path.stat().st_uid


def listing(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def wait_for_file(path: Path, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while not (text := read_if_there(path)):
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.02)
    return text


def pwned(workspace: Path) -> bool:
    return bool(list(workspace.rglob("pwned"))) or Path("pwned").exists()


SHOW = """
cat compose.yml
test -f config/app.env && echo "env file there"
echo "release=$SHIPYARD_RELEASE digests=$SHIPYARD_DIGESTS"
echo "whoami=$(id -u)"
"""


@pytest.mark.parametrize("where", ["unsandboxed", "sandbox"])
async def test_writes_the_files_then_runs_the_command_with_the_variables(
    harness: TaskHarness, workspace: Path, where: str
) -> None:
    sandbox = sandboxed() if where == "sandbox" else None
    run = harness.run(commanding(SHOW), files=[COMPOSE, ENV_FILE], sandbox=sandbox)

    await executor.deploy(run)

    assert (
        workspace / "config" / "app.env"
    ).read_bytes() == f"DB_PASSWORD={FILLED_SECRET}\n".encode()
    assert stat.S_IMODE((workspace / "config" / "app.env").stat().st_mode) == 0o600
    assert owner(workspace / "compose.yml") == owner(workspace)
    assert harness.lines[:2] == [
        f"wrote compose.yml (sha256 {COMPOSE.sha256})",
        f"wrote config/app.env (sha256 {ENV_FILE.sha256})",
    ]
    assert "services: {web: {image: ghcr.io/acme/web@sha256:11}}" in harness.lines
    assert "env file there" in harness.lines
    assert f"release=web 1.4.0 digests={VARIABLES['SHIPYARD_DIGESTS']}" in harness.lines
    if where == "sandbox" and os.geteuid() == 0:
        assert "whoami=65534" in harness.lines
    assert harness.lines[-1] == "the deploy command succeeded"
    assert not harness.logged(FILLED_SECRET)


@pytest.mark.parametrize("where", ["unsandboxed", "sandbox"])
async def test_a_value_with_quotes_and_newlines_reaches_the_command_intact(
    harness: TaskHarness, workspace: Path, where: str
) -> None:
    sandbox = sandboxed() if where == "sandbox" else None
    variables = {**VARIABLES, "SHIPYARD_PARAM_NOTE": HOSTILE}
    script = 'printf "%s" "$SHIPYARD_PARAM_NOTE" > seen.txt'

    await executor.deploy(harness.run(commanding(script), variables=variables, sandbox=sandbox))

    assert (workspace / "seen.txt").read_text() == HOSTILE
    assert not pwned(workspace)


async def test_a_failing_command_fails_the_deploy_with_its_exit_code(
    harness: TaskHarness,
) -> None:
    run = harness.run(commanding("echo 'pulling images'\nfalse\necho 'never here'"))

    with pytest.raises(DeployFailed, match=r"^the deploy command failed: exit code 1$"):
        await executor.deploy(run)

    assert harness.lines == ["pulling images"]


async def test_a_failure_inside_a_pipe_fails_the_deploy(harness: TaskHarness) -> None:
    with pytest.raises(DeployFailed, match="exit code 3"):
        await executor.deploy(harness.run(commanding("(exit 3) | cat\necho after")))
    assert "after" not in harness.lines


async def test_the_timeout_stops_the_whole_process_tree(
    harness: TaskHarness, workspace: Path
) -> None:
    variables = {**VARIABLES, "W": str(workspace)}
    run = harness.run(commanding(FAMILY), variables=variables, timeout=1.0)

    with pytest.raises(DeployFailed, match=r"timed out after 1s and was stopped"):
        await executor.deploy(run)

    child = int((workspace / "child.pid").read_text())
    grandchild = int((workspace / "grandchild.pid").read_text())
    await wait_dead(child, grandchild)


async def test_cancellation_stops_the_whole_process_tree_and_goes_on(
    harness: TaskHarness, workspace: Path
) -> None:
    variables = {**VARIABLES, "W": str(workspace)}
    task = asyncio.create_task(
        executor.deploy(harness.run(commanding(FAMILY), variables=variables))
    )
    child = int(await wait_for_file(workspace / "child.pid"))
    grandchild = int(await wait_for_file(workspace / "grandchild.pid"))
    assert alive(child)
    assert alive(grandchild)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await wait_dead(child, grandchild)


async def test_run_command_gives_the_exit_code_with_the_variables_it_is_given(
    harness: TaskHarness,
) -> None:
    script = 'echo "[${SHIPYARD_RELEASE:-unset}] $CHECK_URL"; exit 4'

    code = await executor.run_command(
        harness.run(commanding("true")), script, {"CHECK_URL": "http://web:8080/healthz"}
    )

    assert code == 4
    assert harness.lines == ["[unset] http://web:8080/healthz"]


async def test_a_dry_run_writes_nothing_and_runs_nothing(
    harness: TaskHarness, workspace: Path
) -> None:
    run = harness.run(commanding("touch ran\necho done"), files=[ENV_FILE], dry_run=True)

    await executor.deploy(run)

    assert listing(workspace) == []
    assert harness.lines == [
        f"dry run: would write config/app.env (sha256 {ENV_FILE.sha256})",
        "dry run: would run, in the step sandbox, by bash -eo pipefail -c:",
        "dry run: | touch ran",
        "dry run: | echo done",
        f"dry run: with the variables {', '.join(sorted(VARIABLES))}",
    ]


@pytest.mark.parametrize("name", ["../escape.env", "/etc/shipyard.env", "a/../../b", ""])
async def test_a_file_must_land_inside_the_workspace(
    harness: TaskHarness, workspace: Path, name: str
) -> None:
    run = harness.run(commanding("touch ran"), files=[file_to_write(name, b"x")])

    with pytest.raises(DeployFailed, match="inside the task's workspace"):
        await executor.deploy(run)

    assert not (workspace / "ran").exists()


async def test_a_symlink_in_a_files_place_is_replaced_not_followed(
    harness: TaskHarness, workspace: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "authorized_keys"
    outside.write_text("kept\n")
    (workspace / "compose.yml").symlink_to(outside)
    (workspace / "linked").symlink_to(tmp_path)

    with pytest.raises(DeployFailed, match="leads outside"):
        await executor.deploy(
            harness.run(commanding("true"), files=[file_to_write("linked/x.env", b"x")])
        )
    await executor.deploy(harness.run(commanding("true"), files=[COMPOSE]))

    assert outside.read_text() == "kept\n"
    assert not (tmp_path / "x.env").exists()
    assert not (workspace / "compose.yml").is_symlink()
    assert (workspace / "compose.yml").read_bytes() == COMPOSE.content


async def test_no_sandbox_fails_the_deploy_saying_why(harness: TaskHarness) -> None:
    with pytest.raises(DeployFailed, match=r"cannot run: bubblewrap is not installed"):
        await executor.deploy(harness.run(commanding("true"), sandbox=unavailable))


async def test_test_runs_true_in_the_sandbox(harness: TaskHarness) -> None:
    result = await executor.test(harness.run(commanding("exit 1"), sandbox=sandboxed()))

    assert result.ok, result.checks
    assert result.checks == [
        ("sandbox", True, "commands start in it"),
        ("bash", True, "`true` ran"),
    ]


async def test_test_says_when_the_sandbox_is_off_or_missing(harness: TaskHarness) -> None:
    off = await executor.test(harness.run(commanding("exit 1")))
    missing = await executor.test(harness.run(commanding("exit 1"), sandbox=unavailable))

    assert off.ok
    assert "off (SHIPYARD_STEP_SANDBOX=none)" in off.checks[0][2]
    assert not missing.ok
    assert missing.checks == [
        (
            "sandbox",
            False,
            "bubblewrap is not installed: install it, or set SHIPYARD_STEP_SANDBOX",
        )
    ]


def test_the_executor_names_its_type() -> None:
    assert executor.type_name == "command"
