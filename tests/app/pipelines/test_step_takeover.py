"""A step dies with its worker, and a take-over never runs beside a live attempt.

A real `shipyard worker` is SIGKILLed mid-step ten times, each time a new worker takes the step
over, in bubblewrap (with slirp4netns) and unsandboxed by turns. The step's command records its
attempts in a file, and runs until the test lets the last one finish; from the records, no two
attempts ever ran at once, every killed attempt's processes were gone, and the run ended."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.main import create_app
from steps.sandbox import find_tools
from tests.support.deliveries import delivery
from tests.support.fake_github import FakeGitHub
from tests.support.hosts import pull_request_delivery
from tests.support.http import running, serving
from tests.support.processes import Process, descendants, gone, start_worker, still_running
from tests.support.runs import all_runs, until
from tests.support.settings import make_settings

KILLS = 10
LEASE = 0.6
CONFIG = r"""
pipelines:
  review:
    on: {pull_request: [opened]}
    steps:
      - name: long
        type: run_command
        config:
          command: |
            id="$(date +%s%N)-$RANDOM"
            echo "start $id" >> attempts.log
            chmod a+rw attempts.log 2>/dev/null || true
            i=0
            while [ $i -lt 3 ] || [ ! -e finish ]; do
              echo "tick $id" >> attempts.log; sleep 0.1; i=$((i + 1))
            done
            echo "end $id" >> attempts.log
      - name: records
        type: run_command
        needs: [long]
        config: {command: "cat attempts.log", tail: 10000}
"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the kill loop is the slowest test here, and the claim is one UPDATE."""
    return f"sqlite:///{tmp_path / 'shipyard.db'}"


def _sandbox_modes() -> list[str]:
    tools = find_tools(os.environ.get("PATH"))
    sandboxed = not isinstance(tools, str) and tools.slirp4netns is not None
    return ["bwrap", "none"] if sandboxed else ["none"]


def _age(when: datetime | None) -> float:
    if when is None:
        return 0.0
    return (datetime.now(UTC) - when.replace(tzinfo=when.tzinfo or UTC)).total_seconds()


async def _attempts_started(records: Path, count: int, within: float = 30.0) -> None:
    """Wait until `count` attempts have recorded their start."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while _starts(records) < count:
        assert loop.time() < deadline, f"attempt {count} did not start in {within} s"
        await asyncio.sleep(0.02)


def _starts(records: Path) -> int:
    return records.read_text().count("start ") if records.exists() else 0


def _interleavings(records: list[str]) -> list[str]:
    """Records of an attempt written after a later attempt had started."""
    done: set[str] = set()
    current = None
    found = []
    for record in records:
        _, attempt = record.split()
        if attempt != current:
            if attempt in done:
                found.append(f"{attempt} wrote {record!r} after {current} had started")
            if current is not None:
                done.add(current)
            current = attempt
    return found


async def test_a_killed_workers_step_dies_with_it_and_no_take_over_runs_beside_it(
    migrated: str, redis_url: str, data_dir: Path
) -> None:
    host = FakeGitHub(files={("acme/web", ".shipyard.yml"): CONFIG.encode()})
    modes = _sandbox_modes()
    workers: list[subprocess.Popen[bytes]] = []
    killed: set[Process] = set()  # the killed workers' processes
    async with serving(host.app()) as api_url:
        env = {
            "DATABASE_URL": migrated,
            "REDIS_URL": redis_url,
            "GITHUB_TOKEN": "ghp_takeover_token",
            "GITHUB_API_URL": api_url,
            "GITHUB_WEBHOOK_SECRET": "github-test-secret",
            "SHIPYARD_DATA_DIR": str(data_dir),
            "SHIPYARD_STEP_LEASE": str(LEASE),
            "SHIPYARD_HEARTBEAT": "0.1",
            "SHIPYARD_REQUEUE_INTERVAL": "0.5",
        }
        settings = make_settings(migrated, REDIS_URL=redis_url, SHIPYARD_DATA_DIR=str(data_dir))
        try:
            event, payload = pull_request_delivery("github")
            body, headers = delivery("github", event, payload)
            async with running(create_app(settings)) as client:
                response = await client.post("/webhooks/github", content=body, headers=headers)
                assert response.status_code == 202
            for kill in range(KILLS):
                worker = start_worker({**env, "SHIPYARD_STEP_SANDBOX": modes[kill % len(modes)]})
                workers.append(worker)
                if kill == 0:
                    await until(settings, lambda runs: bool(runs), within=30)
                [(run, _)] = await all_runs(settings)
                records = data_dir / "workspaces" / str(run.id) / "attempts.log"
                await _attempts_started(records, kill + 1)
                below = descendants(worker.pid)
                killed |= below
                assert below, "the step runs no process"
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
                assert not await gone(below), f"attempt {kill + 1} outlived its worker"
                # A take-over comes once the lease has run out: the next worker's start-up
                # recovery finds the step then (arq's own retry of the job would take minutes).
                await until(settings, lambda runs: _age(runs[0][1][0].heartbeat_at) > LEASE)
            (records.parent / "finish").touch()  # the next attempt may end
            workers.append(start_worker({**env, "SHIPYARD_STEP_SANDBOX": modes[0]}))
            await until(
                settings, lambda runs: runs[0][0].state in ("succeeded", "failed"), within=30
            )
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(10)
            for pid, _ in still_running(killed):  # a failed run leaves nothing behind either
                os.kill(pid, signal.SIGKILL)

    [(run, steps)] = await all_runs(settings)
    assert (run.state, [s.state for s in steps]) == ("succeeded", ["succeeded", "succeeded"])
    assert steps[0].attempts == KILLS + 1
    lines = steps[1].outputs["output"].splitlines()
    assert _interleavings(lines) == []
    starts = [line.split()[1] for line in lines if line.startswith("start ")]
    ends = [line.split()[1] for line in lines if line.startswith("end ")]
    assert len(set(starts)) == len(starts) == KILLS + 1
    assert ends == starts[-1:]  # only the attempt no one killed finished
