"""A worker killed mid-step (SIGKILL) loses nothing: a new worker finishes the run, and the
comment is posted once. The worker is a real `shipyard worker` process; the host is a GitHub
API stand-in on loopback, since respx cannot reach into another process."""

from __future__ import annotations

import signal
from pathlib import Path

from app.main import create_app
from tests.support.deliveries import delivery
from tests.support.fake_github import FakeGitHub
from tests.support.hosts import HEAD_SHA, pull_request_delivery
from tests.support.http import running, serving
from tests.support.processes import start_worker
from tests.support.runs import all_runs, until
from tests.support.settings import make_settings

CONFIG = """
pipelines:
  review:
    on: {pull_request: [opened]}
    steps:
      - name: tests
        type: run_command
        config: {command: "echo started; sleep 2; echo finished"}
      - name: report
        type: post_comment
        config: {marker: review, body: "{{ steps.tests.outputs.output }}"}
"""


async def test_run_completes_after_its_worker_is_killed_mid_step(
    migrated: str, redis_url: str, data_dir: Path
) -> None:
    host = FakeGitHub(files={("acme/web", ".shipyard.yml"): CONFIG.encode()})
    async with serving(host.app()) as api_url:
        env = {
            "DATABASE_URL": migrated,
            "REDIS_URL": redis_url,
            "GITHUB_TOKEN": "ghp_kill_token",
            "GITHUB_API_URL": api_url,
            "GITHUB_WEBHOOK_SECRET": "github-test-secret",
            "SHIPYARD_DATA_DIR": str(data_dir),
            "SHIPYARD_STEP_LEASE": "1.5",
            "SHIPYARD_HEARTBEAT": "0.2",
        }
        settings = make_settings(migrated, REDIS_URL=redis_url)
        first = start_worker(env)
        second = None
        try:
            event, payload = pull_request_delivery("github")
            body, headers = delivery("github", event, payload)
            async with running(create_app(settings)) as client:
                response = await client.post("/webhooks/github", content=body, headers=headers)
                assert response.status_code == 202
            await until(
                settings,
                lambda runs: runs and "started" in runs[0][1][0].log,
                within=60,
            )
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            [(run, steps)] = await all_runs(settings)
            assert (run.state, steps[0].state) == ("running", "running")

            second = start_worker(env)
            await until(
                settings,
                lambda runs: runs[0][0].state == "succeeded" and len(host.statuses()) == 2,
                within=60,
            )
        finally:
            for worker in (first, second):
                if worker is not None and worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(10)

    [(run, steps)] = await all_runs(settings)
    assert [(s.name, s.state) for s in steps] == [("tests", "succeeded"), ("report", "succeeded")]
    assert steps[0].attempts == 2  # the killed attempt, and the one that finished
    assert steps[0].log.count("started") == 2
    assert len(host.comment_posts()) == 1
    assert [s["state"] for s in host.statuses()] == ["pending", "success"]
    assert all(HEAD_SHA in r.path for r in host.requests if "/statuses/" in r.path)
