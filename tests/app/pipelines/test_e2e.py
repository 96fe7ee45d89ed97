"""Pipelines end to end: a signed pull-request delivery → config from the host → a run on arq
(real Redis) → the host receives the pending and final statuses and exactly one comment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.main import create_app
from app.settings import Settings
from app.worker import create_worker
from tests.support.deliveries import delivery
from tests.support.hosts import HEAD_SHA, HOSTS, NEXT_SHA, pull_request_delivery
from tests.support.http import running
from tests.support.oauth import ADMIN_PAGES, sign_in_admin
from tests.support.runs import all_runs, until
from tests.support.settings import make_settings
from tests.support.worker import run_worker_until_idle

REVIEW = """
pipelines:
  review:
    on:
      pull_request: [opened, synchronize]
    steps:
      - name: tests
        type: run_command
        config:
          command: >-
            if [ "$SHIPYARD_SHA" = "%s" ]; then sleep %s; fi;
            echo "tested: $SHIPYARD_PR_TITLE"
      - name: report
        type: post_comment
        config:
          marker: review
          body: "{{ steps.tests.outputs.output }}"
"""


def review(slow_sha: str = "none", seconds: int = 0) -> str:
    return REVIEW % (slow_sha, seconds)


def e2e_settings(
    migrated: str, redis_url: str, data_dir: Path, host_settings: dict[str, str]
) -> Settings:
    return make_settings(
        migrated,
        REDIS_URL=redis_url,
        SHIPYARD_DATA_DIR=str(data_dir),
        SHIPYARD_PUBLIC_URL="http://shipyard.test",
        SHIPYARD_HEARTBEAT="0.1",
        **ADMIN_PAGES,
        **host_settings,
    )


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_pull_request_opened_runs_the_pipeline_and_reports_back(
    migrated: str, redis_url: str, data_dir: Path, provider: str
) -> None:
    with HOSTS[provider](review()) as host:
        settings = e2e_settings(migrated, redis_url, data_dir, host.settings)
        event, payload = pull_request_delivery(provider, title='Add "quotes" $(rm -rf /)')
        body, headers = delivery(provider, event, payload)
        async with running(create_app(settings)) as client:
            response = await client.post(f"/webhooks/{provider}", content=body, headers=headers)
            assert response.status_code == 202
            worker = await run_worker_until_idle(settings)
            sign_in_admin(client, settings)
            page = await client.get("/runs/1")
    assert worker.jobs_failed == 0

    [(run, steps)] = await all_runs(settings)
    assert (run.state, run.trigger, run.sha, run.pr_number) == (
        "succeeded",
        "pull_request",
        HEAD_SHA,
        7,
    )
    assert [(s.name, s.state, s.attempts) for s in steps] == [
        ("tests", "succeeded", 1),
        ("report", "succeeded", 1),
    ]
    assert steps[0].outputs["output"] == 'tested: Add "quotes" $(rm -rf /)'

    statuses = host.statuses()
    assert len(statuses) == 2
    pending, final = statuses
    assert all(HEAD_SHA in url for url in host.status_urls())
    if provider == "gitlab":
        assert (pending["state"], pending["name"]) == ("pending", "shipyard/review")
        assert final["state"] == "success"
    else:
        assert (pending["state"], pending["context"]) == ("pending", "shipyard/review")
        assert final["state"] == "success"
        assert final["target_url"] == "http://shipyard.test/runs/1"

    [comment] = host.comment_posts()
    assert comment.body["body"].startswith("<!-- shipyard:review -->")
    assert 'tested: Add "quotes" $(rm -rf /)' in comment.body["body"]
    auth = {
        "github": ("authorization", "Bearer ghp_e2e_token"),
        "gitea": ("authorization", "token gitea_e2e_token"),
        "gitlab": ("PRIVATE-TOKEN", "glpat-e2e-token"),
    }[provider]
    assert comment.headers[auth[0]] == auth[1]

    assert page.status_code == 200
    assert "succeeded" in page.text
    assert "tested: Add &#34;quotes&#34;" in page.text  # escaped on the page


async def test_a_new_push_cancels_the_running_run(
    migrated: str, redis_url: str, data_dir: Path
) -> None:
    with HOSTS["github"](review(slow_sha=HEAD_SHA, seconds=30)) as host:
        settings = e2e_settings(migrated, redis_url, data_dir, host.settings)
        worker = create_worker(settings, poll_delay=0.05, handle_signals=False)
        working = asyncio.create_task(worker.async_run())
        try:
            async with running(create_app(settings)) as client:
                event, first = pull_request_delivery("github", sha=HEAD_SHA)
                body, headers = delivery("github", event, first)
                assert (
                    await client.post("/webhooks/github", content=body, headers=headers)
                ).status_code == 202
                await until(settings, lambda runs: runs and runs[0][1][0].state == "running")
                event, second = pull_request_delivery("github", action="synchronize", sha=NEXT_SHA)
                body, headers = delivery("github", event, second)
                assert (
                    await client.post("/webhooks/github", content=body, headers=headers)
                ).status_code == 202
                await until(
                    settings,
                    lambda runs: (
                        len(runs) == 2
                        and runs[0][1][0].state == "cancelled"
                        and runs[1][0].state == "succeeded"
                    ),
                )
        finally:
            working.cancel()
            await worker.close()

    (first_run, first_steps), (second_run, second_steps) = await all_runs(settings)
    assert [s.state for s in second_steps] == ["succeeded", "succeeded"]
    assert first_run.state == "cancelled"
    assert first_run.error == "superseded by a newer run"
    assert [s.state for s in first_steps] == ["cancelled", "cancelled"]
    assert second_run.state == "succeeded"
    assert "tested:" not in first_steps[0].log  # its 30-second sleep was stopped, not waited out
    by_sha = {
        url.rsplit("/", 1)[1]: body
        for url, body in zip(host.status_urls(), host.statuses(), strict=True)
    }
    assert by_sha[HEAD_SHA]["state"] == "error"
    assert "superseded" in by_sha[HEAD_SHA]["description"]
    assert by_sha[NEXT_SHA]["state"] == "success"
    assert len(host.comment_posts()) == 1  # only the second run got to comment


async def test_invalid_config_fails_the_config_status_and_runs_nothing(
    migrated: str, tmp_path: Path
) -> None:
    broken = review().replace("type: run_command", "type: run_comand")
    with HOSTS["github"](broken) as host:
        settings = make_settings(
            migrated, SHIPYARD_PUBLIC_URL="http://shipyard.test", **ADMIN_PAGES, **host.settings
        )
        app = create_app(settings)
        event, payload = pull_request_delivery("github")
        body, headers = delivery("github", event, payload)
        async with running(app) as client:
            assert (
                await client.post("/webhooks/github", content=body, headers=headers)
            ).status_code == 202
            await app.state.services.queue.join()
            sign_in_admin(client, settings)
            page = await client.get("/deliveries/1")
    [status] = host.statuses()
    assert status["state"] == "failure"
    assert status["context"] == "shipyard/config"
    assert status["description"].startswith(".shipyard.yml:8: pipelines.review.steps[0].type")
    assert "run_command" in status["description"]  # "did you mean"
    assert status["target_url"] == "http://shipyard.test/deliveries/1"
    assert await all_runs(settings) == []
    assert host.comment_posts() == []
    assert "run_comand" in page.text


async def test_routing_retries_as_its_own_job_while_the_host_is_down(
    migrated: str, redis_url: str, data_dir: Path
) -> None:
    """Reading .shipyard.yml meets 502s until the client gives up: the delivery is processed
    anyway, and routing runs again as a job of its own once the host answers."""
    with HOSTS["github"](review(), failing_reads=4) as host:
        settings = e2e_settings(migrated, redis_url, data_dir, host.settings)
        event, payload = pull_request_delivery("github")
        body, headers = delivery("github", event, payload)
        async with running(create_app(settings)) as client:
            response = await client.post("/webhooks/github", content=body, headers=headers)
            assert response.status_code == 202
            worker = await run_worker_until_idle(settings)
    assert worker.jobs_failed == 0
    [(run, _steps)] = await all_runs(settings)
    assert run.state == "succeeded"
    reads = [s for s in host.sent if s.url.endswith(".shipyard.yml?ref=main")]
    assert len(reads) == 5  # four 502s (one call, retried), then the routing job's read
    assert [s["state"] for s in host.statuses()] == ["pending", "success"]
