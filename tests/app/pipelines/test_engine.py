"""The engine on the in-process queue: order and needs, `if:`, retries, timeouts,
continue_on_error, `*_from`, secret masking — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests.support.engine import define_secret, run_pipeline
from tests.support.settings import make_settings
from tests.support.steps import RecordingProvider


def fast_settings(migrated: str, data_dir: Path) -> Settings:
    """Settings for quick runs: a data dir of the test's own and heartbeats every 50 ms."""
    return make_settings(migrated, SHIPYARD_DATA_DIR=str(data_dir), SHIPYARD_HEARTBEAT="0.05")


@pytest.fixture
def fast(migrated: str, data_dir: Path) -> Settings:
    return fast_settings(migrated, data_dir)


def command(name: str, script: str, extra: str = "") -> str:
    return f"""
      - name: {name}
        type: run_command
        config: {{command: '{script}'}}{extra}"""


def meet(me: str, other: str) -> str:
    """A script that marks `me` as running, then waits (up to 10 s) until `other` is running
    too: it succeeds only if the two steps run at the same time."""
    return (
        f"touch {me}.up; for i in $(seq 200); do [ -f {other}.up ] && break; sleep 0.05; done;"
        f" [ -f {other}.up ]; echo {me}"
    )


async def test_steps_run_in_order_and_independent_ones_in_parallel(fast: Settings) -> None:
    text = (
        "pipelines:\n  p:\n    on: {manual: true}\n    steps:"
        + command("a", meet("a", "b"))
        + command("b", meet("b", "a"), "\n        needs: []")
        + command("c", "echo c", "\n        needs: [a, b]")
        + command("d", "echo d")
    )
    run, steps = await run_pipeline(fast, text)
    assert run.state == "succeeded", steps
    assert not (Path(fast.data_dir) / "workspaces" / str(run.id)).exists()  # cleaned up
    a, b, c, d = (steps[n] for n in "abcd")
    assert all(s.state == "succeeded" for s in (a, b, c, d))  # a and b met: they overlapped
    times = [(s.started_at, s.finished_at) for s in (a, b, c, d)]
    assert all(start and end for start, end in times), times
    (_, a_end), (_, b_end), (c_start, c_end), (d_start, _) = times
    assert c_start >= max(a_end, b_end)  # type: ignore[operator, type-var]
    assert d_start >= c_end  # type: ignore[operator]


async def test_if_false_skips_only_that_step(fast: Settings) -> None:
    text = (
        "pipelines:\n  p:\n    on: {manual: true}\n    vars: {deploy: false}\n    steps:"
        + command("a", "echo a", '\n        if: "{{ vars.deploy }}"')
        + command("b", "echo b")
    )
    run, steps = await run_pipeline(fast, text)
    assert run.state == "succeeded"
    assert (steps["a"].state, steps["a"].error) == ("skipped", None)
    assert steps["b"].state == "succeeded"


async def test_a_failed_step_is_retried_then_succeeds(fast: Settings) -> None:
    script = "if [ -f .flag ]; then echo second; else touch .flag; echo first; exit 3; fi"
    text = "pipelines:\n  p:\n    on: {manual: true}\n    steps:" + command(
        "flaky", script, "\n        retries: 1"
    )
    run, steps = await run_pipeline(fast, text)
    assert run.state == "succeeded"
    assert (steps["flaky"].state, steps["flaky"].attempts) == ("succeeded", 2)
    assert "attempt 1 failed: exit code 3; retrying" in steps["flaky"].log
    assert steps["flaky"].outputs["output"] == "second"


async def test_timeout_fails_the_step_and_skips_the_rest(fast: Settings) -> None:
    text = (
        "pipelines:\n  p:\n    on: {manual: true}\n    steps:"
        + command("slow", "sleep 20", "\n        timeout: 1s")
        + command("after", "echo never")
    )
    run, steps = await run_pipeline(fast, text)
    assert run.state == "failed"
    assert steps["slow"].state == "failed"
    assert steps["slow"].error == "timed out after 1 s"
    assert (steps["after"].state, steps["after"].error) == (
        "skipped",
        "skipped: slow did not succeed",
    )


async def test_continue_on_error_keeps_the_run_going(fast: Settings) -> None:
    text = (
        "pipelines:\n  p:\n    on: {manual: true}\n    steps:"
        + command("lint", "exit 1", "\n        continue_on_error: true")
        + command("build", "echo built")
    )
    run, steps = await run_pipeline(fast, text)
    assert run.state == "succeeded"
    assert steps["lint"].state == "failed"
    assert steps["build"].state == "succeeded"


async def test_outputs_flow_to_later_steps_and_secrets_are_masked(
    migrated: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_TEST_DEPLOY_KEY", "s3cr3t-deploy-key")
    fast = fast_settings(migrated, data_dir)  # reads the environment, the variable included
    await define_secret(fast, "DEPLOY_KEY", "env://SHIPYARD_TEST_DEPLOY_KEY", ["github:acme/*"])
    text = """
pipelines:
  p:
    on: {manual: true}
    env: {KEY: "secret://DEPLOY_KEY"}
    steps:
      - name: build
        type: run_command
        config:
          command: 'echo "using $KEY"; echo "version=1.2.3" >> "$SHIPYARD_OUTPUT"'
      - name: tell
        type: post_comment
        config:
          marker: build
          body_from: build.version
"""
    host = RecordingProvider()
    run, steps = await run_pipeline(fast, text, host)
    assert run.state == "succeeded", steps
    assert steps["build"].outputs["version"] == "1.2.3"
    assert "s3cr3t-deploy-key" not in steps["build"].log
    assert "using ***" in steps["build"].log
    assert "s3cr3t-deploy-key" not in str(steps["build"].outputs)
    [comment] = host.comments
    assert comment.body == "<!-- shipyard:build -->\n1.2.3"
    assert steps["tell"].recorded == {"comment_id": comment.id}


async def test_a_config_that_renders_wrong_fails_the_step_clearly(fast: Settings) -> None:
    text = """
pipelines:
  p:
    on: {manual: true}
    vars: {n: "many"}
    steps:
      - name: upload
        type: run_command
        config: {command: "true", tail: "{{ vars.n }}"}
"""
    run, steps = await run_pipeline(fast, text)
    assert run.state == "failed"
    assert steps["upload"].error is not None
    assert steps["upload"].error.startswith("configuration:")
    assert "tail" in steps["upload"].error
