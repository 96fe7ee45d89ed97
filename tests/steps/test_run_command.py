"""run_command with real subprocesses: exit codes, the environment, outputs, timeouts, cancel."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from steps.base import StepFailed
from steps.run_command import RunCommandConfig, run_process, shipyard_env, step
from tests.support.steps import StepHarness

HOSTILE_TITLES = ['"; touch pwned #', "$(touch pwned)", "`touch pwned`", "'; touch pwned; '"]


def command(script: str, **config: Any) -> RunCommandConfig:
    return RunCommandConfig(command=script, **config)


def pr_template(title: str, **event: Any) -> dict[str, Any]:
    return {
        "event": {"kind": "pull_request", "action": "opened", **event},
        "pull_request": {"number": 7, "title": title, "head_ref": "feature", "base_ref": "main"},
    }


def pwned(workspace: Path) -> bool:
    return bool(list(workspace.rglob("pwned"))) or Path("pwned").exists()


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that is not ours to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_dead(*pids: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if alive(p)]}"
        await asyncio.sleep(0.05)


def read_if_there(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


async def wait_for_file(path: Path, within: float = 5.0) -> str:
    deadline = time.monotonic() + within
    while not (text := read_if_there(path)):
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.02)
    return text


# Exit codes and output


async def test_success_gives_exit_code_and_output(harness: StepHarness) -> None:
    outputs = await step.run(harness.context(), command("echo hello; echo oops >&2"))

    assert outputs == {"exit_code": 0, "output": "hello\noops"}
    assert harness.lines == ["hello", "oops"]


async def test_a_non_zero_exit_fails_the_step(harness: StepHarness) -> None:
    with pytest.raises(StepFailed, match="exit code 3"):
        await step.run(harness.context(), command("echo before; exit 3; echo after"))
    assert harness.lines == ["before"]


async def test_pipefail_and_errexit(harness: StepHarness) -> None:
    with pytest.raises(StepFailed, match="exit code 1"):
        await step.run(harness.context(), command("false | cat; echo unreachable"))
    assert "unreachable" not in harness.lines


async def test_tail_keeps_the_last_lines(harness: StepHarness) -> None:
    outputs = await step.run(harness.context(), command("seq 1 30", tail=3))
    assert outputs["output"] == "28\n29\n30"
    assert len(harness.lines) == 30


async def test_args_run_without_a_shell(harness: StepHarness) -> None:
    outputs = await step.run(harness.context(), RunCommandConfig(args=["echo", "$HOME", ";", "x"]))
    assert outputs["output"] == "$HOME ; x"


async def test_an_unknown_program_fails_clearly(harness: StepHarness) -> None:
    with pytest.raises(StepFailed, match="no-such-program-xyz: command not found"):
        await step.run(harness.context(), RunCommandConfig(args=["no-such-program-xyz"]))


async def test_a_very_long_line_is_logged_in_pieces(harness: StepHarness) -> None:
    await step.run(harness.context(), command("head -c 200000 /dev/zero | tr '\\0' a; echo"))
    assert "".join(harness.lines) == "a" * 200_000
    assert max(len(line) for line in harness.lines) <= 64 * 1024


# The environment


@pytest.mark.parametrize("title", HOSTILE_TITLES)
async def test_hostile_pr_titles_are_data_not_code(harness: StepHarness, title: str) -> None:
    ctx = harness.context(template=pr_template(title))
    outputs = await step.run(ctx, command('echo "title: $SHIPYARD_PR_TITLE"'))

    assert outputs["output"] == f"title: {title}"
    assert not pwned(harness.workspace)


async def test_event_values_become_shipyard_variables(harness: StepHarness) -> None:
    template = pr_template(
        "Fix it",
        branch="feature",
        comment={"body": "/deploy staging\x00"},
        actor={"login": "octocat"},
    )
    ctx = harness.context(template=template, name="build", attempt=2)
    outputs = await step.run(
        ctx,
        command("env | grep ^SHIPYARD_ | grep -v '^SHIPYARD_OUTPUT\\(_DELIMITER\\)\\?=' | sort"),
    )

    assert dict(line.split("=", 1) for line in outputs["output"].splitlines()) == {
        "SHIPYARD_ACTOR": "octocat",
        "SHIPYARD_ATTEMPT": "2",
        "SHIPYARD_BRANCH": "feature",
        "SHIPYARD_COMMENT_BODY": "/deploy staging",
        "SHIPYARD_EVENT_ACTION": "opened",
        "SHIPYARD_EVENT_KIND": "pull_request",
        "SHIPYARD_PIPELINE": "review",
        "SHIPYARD_PROVIDER": "github",
        "SHIPYARD_PR_BASE_REF": "main",
        "SHIPYARD_PR_HEAD_REF": "feature",
        "SHIPYARD_PR_NUMBER": "7",
        "SHIPYARD_PR_TITLE": "Fix it",
        "SHIPYARD_REF": "refs/heads/feature",
        "SHIPYARD_REPOSITORY": "acme/web",
        "SHIPYARD_RUN_ID": "1",
        "SHIPYARD_RUN_URL": "http://shipyard.test/runs/1",
        "SHIPYARD_SHA": "a" * 40,
        "SHIPYARD_STEP": "build",
        "SHIPYARD_WORKSPACE": str(harness.workspace),
    }


def test_the_event_pull_request_is_used_when_there_is_no_pull_request(
    harness: StepHarness,
) -> None:
    ctx = harness.context(template={"event": {"pull_request": {"number": 9, "title": "T"}}})
    env = shipyard_env(ctx)
    assert (env["SHIPYARD_PR_NUMBER"], env["SHIPYARD_PR_TITLE"]) == ("9", "T")


async def test_environment_layers_and_no_leak_from_the_worker(
    harness: StepHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_ONLY_SECRET", "do-not-pass")
    ctx = harness.context(env={"A": "pipeline", "B": "pipeline", "SHIPYARD_SHA": "spoofed"})
    script = 'echo "$A $B ${WORKER_ONLY_SECRET:-unset} $SHIPYARD_SHA"; test -n "$PATH$HOME"'
    outputs = await step.run(ctx, command(script, env={"B": "step"}))
    assert outputs["output"] == f"pipeline step unset {'a' * 40}"


def test_config_refuses_shipyard_variables_and_bad_names() -> None:
    with pytest.raises(ValidationError, match="set by Shipyard"):
        RunCommandConfig(command="true", env={"SHIPYARD_SHA": "x"})
    with pytest.raises(ValidationError, match="not a valid environment variable name"):
        RunCommandConfig(command="true", env={"A=B": "x"})


@pytest.mark.parametrize(
    "config",
    [{}, {"command": "true", "args": ["true"]}, {"args": []}, {"command": "x", "nope": 1}],
)
def test_config_needs_exactly_one_of_command_and_args(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RunCommandConfig(**config)


# Working directory


async def test_runs_in_src_when_it_exists(harness: StepHarness) -> None:
    (harness.workspace / "src" / "app").mkdir(parents=True)
    outputs = await step.run(harness.context(), command("pwd"))
    assert outputs["output"] == str((harness.workspace / "src").resolve())
    outputs = await step.run(harness.context(), command("pwd", workdir="app"))
    assert outputs["output"] == str((harness.workspace / "src" / "app").resolve())


@pytest.mark.parametrize("workdir", ["../..", "/tmp", "missing"])
async def test_workdir_must_stay_in_the_workspace(harness: StepHarness, workdir: str) -> None:
    with pytest.raises(StepFailed, match="workdir"):
        await step.run(harness.context(), command("pwd", workdir=workdir))


# SHIPYARD_OUTPUT and masking


async def test_shipyard_output_lines_become_outputs(harness: StepHarness) -> None:
    script = """
    echo "version=1.2.3" >> "$SHIPYARD_OUTPUT"
    echo "equation=a=b" >> "$SHIPYARD_OUTPUT"
    D="$SHIPYARD_OUTPUT_DELIMITER"
    printf 'notes<<%s\\nline one\\nline two\\n%s\\n' "$D" "$D" >> "$SHIPYARD_OUTPUT"
    """
    outputs = await step.run(harness.context(), command(script))
    assert outputs["version"] == "1.2.3"
    assert outputs["equation"] == "a=b"
    assert outputs["notes"] == "line one\nline two"


async def test_a_title_cannot_end_a_multi_line_output_and_forge_another(
    harness: StepHarness,
) -> None:
    """The title holds a newline, a delimiter a script might pick, and a forged output."""
    title = "Fix\nEOF\napproved=true\nEOF2"
    script = """
    D="$SHIPYARD_OUTPUT_DELIMITER"
    { echo "notes<<$D"; echo "$SHIPYARD_PR_TITLE"; echo "$D"; } >> "$SHIPYARD_OUTPUT"
    """
    outputs = await step.run(harness.context(template=pr_template(title)), command(script))
    assert outputs["notes"] == title
    assert "approved" not in outputs


async def test_a_guessable_delimiter_is_refused(harness: StepHarness) -> None:
    script = "printf 'notes<<EOF\\nhi\\nEOF\\n' >> \"$SHIPYARD_OUTPUT\""
    with pytest.raises(StepFailed, match=r"SHIPYARD_OUTPUT_DELIMITER"):
        await step.run(harness.context(), command(script))


async def test_a_malformed_output_file_fails(harness: StepHarness) -> None:
    with pytest.raises(StepFailed, match="SHIPYARD_OUTPUT line 1"):
        await step.run(harness.context(), command('echo "no equals sign" >> "$SHIPYARD_OUTPUT"'))


async def test_built_in_outputs_cannot_be_overwritten(harness: StepHarness) -> None:
    outputs = await step.run(harness.context(), command('echo exit_code=9 >> "$SHIPYARD_OUTPUT"'))
    assert outputs["exit_code"] == 0


async def test_secrets_are_masked_in_outputs(harness: StepHarness) -> None:
    harness.secrets.append("hunter2-secret")
    ctx = harness.context(env={"TOKEN": "hunter2-secret"})
    script = 'echo "token is $TOKEN"; echo "leak=$TOKEN" >> "$SHIPYARD_OUTPUT"'
    outputs = await step.run(ctx, command(script))
    assert outputs["output"] == "token is ***"
    assert outputs["leak"] == "***"
    assert "hunter2-secret" not in repr(outputs) + "".join(harness.lines)


# Timeouts, cancellation, leftovers

FAMILY = """
sleep 30 & echo $! > "$W/child.pid"
bash -c 'sleep 30 & echo $! > "$W/grandchild.pid"; wait' &
wait
"""


async def test_a_timeout_kills_the_whole_process_group(harness: StepHarness) -> None:
    env = {"W": str(harness.workspace)}
    with pytest.raises(StepFailed, match=r"timed out after 1\.0s"):
        await step.run(harness.context(), command(FAMILY, env=env, timeout=1.0))
    child = int((harness.workspace / "child.pid").read_text())
    grandchild = int((harness.workspace / "grandchild.pid").read_text())
    await wait_dead(child, grandchild)


async def test_cancellation_kills_the_group_and_propagates(harness: StepHarness) -> None:
    env = {"W": str(harness.workspace)}
    task = asyncio.create_task(step.run(harness.context(), command(FAMILY, env=env)))
    grandchild = int(await wait_for_file(harness.workspace / "grandchild.pid"))
    child = int(await wait_for_file(harness.workspace / "child.pid"))

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_dead(child, grandchild)
    assert list((harness.workspace / ".shipyard").iterdir()) == []  # its output file is gone


async def test_a_failed_step_leaves_no_output_file(harness: StepHarness) -> None:
    with pytest.raises(StepFailed):
        await step.run(harness.context(), command('echo "x=1" >> "$SHIPYARD_OUTPUT"; exit 3'))
    assert list((harness.workspace / ".shipyard").iterdir()) == []


async def test_sigkill_follows_sigterm_after_the_grace_period(tmp_path: Path) -> None:
    script = f"trap '' TERM; echo $$ > {tmp_path}/pid; while true; do sleep 0.1; done"
    lines: list[str] = []
    task = asyncio.create_task(
        run_process(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=dict(os.environ),
            on_line=lines.append,
            grace=0.3,
        )
    )
    pid = int(await wait_for_file(tmp_path / "pid"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_dead(pid, within=2)


async def test_background_leftovers_do_not_hold_the_step(harness: StepHarness) -> None:
    """A process left running is stopped when the command exits, not waited out: it writes
    "stopped" only if it is signalled before its 30 seconds are up."""
    (harness.workspace / "leftover.sh").write_text(
        'trap \'echo stopped > "$W/bg.state"; exit\' TERM\ntouch "$W/ready"\nsleep 30 &\nwait\n'
    )
    script = (
        'bash "$W/leftover.sh" & echo $! > "$W/bg.pid"\n'
        'until [ -f "$W/ready" ]; do sleep 0.01; done\n'
        "echo done"
    )
    outputs = await step.run(harness.context(), command(script, env={"W": str(harness.workspace)}))
    assert outputs["output"] == "done"
    await wait_dead(int((harness.workspace / "bg.pid").read_text()))
    assert (harness.workspace / "bg.state").read_text() == "stopped\n"


async def test_an_unusable_pipeline_env_fails_the_step(harness: StepHarness) -> None:
    with pytest.raises(StepFailed, match="could not start the command"):
        await step.run(harness.context(env={"A=B": "x"}), command("true"))
