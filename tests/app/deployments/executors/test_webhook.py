"""The webhook executor against a real receiver on loopback (uvicorn) that checks the signature
with the shared secret: the body, the headers, status polling on a fake clock, failures, the
dry run and `test`, and no secret in any line or message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.deployments.executors.base import DeployFailed, NotSupported, TargetInfo
from app.deployments.executors.http_calls import Polling
from app.deployments.executors.payload import payload_of
from app.deployments.executors.webhook import WebhookExecutor, executor
from tests.support.clock import FakeClock
from tests.support.deploy_receiver import Answer, Receiver, receiving
from tests.support.deploy_tasks import DIGESTS, VARIABLES, TaskHarness, target
from tests.support.http import free_port

SECRET = "whsec-0123456789-shared-with-the-receiver"
AUTH = "Token deploy-auth-9f8e7d6c5b4a"  # a header value, from env://DEPLOY_API_AUTH
DELIVERY = "job-7.task-9.attempt-2"
BODY = {
    "release": {
        "id": 12,
        "name": "web 1.4.0",
        "version": "1.4.0",
        "commit": "c" * 40,
        "components": [
            {"name": "web", "image": "ghcr.io/acme/web", "digest": DIGESTS["web"]},
            {"name": "worker", "image": None, "digest": DIGESTS["worker"]},
        ],
    },
    "environment": "staging",
    "target": "web-staging",
    "digests": DIGESTS,
    "job": 7,
    "task": 9,
    "attempt": 2,
    "params": {"reason": "hotfix"},
}
RUNNING = Answer(json={"status": "running"})


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("DEPLOY_API_AUTH", AUTH)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving(secret=SECRET) as receiver:
        yield receiver


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[TaskHarness]:
    async with httpx.AsyncClient() as http:
        yield TaskHarness(tmp_path, http)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def webhook(clock: FakeClock) -> WebhookExecutor:
    return WebhookExecutor(polling=Polling(interval=5.0, sleep=clock.sleep, clock=clock.time))


def hook(receiver: Receiver, **connection: Any) -> TargetInfo:
    return target(
        {"type": "webhook", "url": receiver.url("/deploy"), **connection},
        credential="env://DEPLOY_WEBHOOK_SECRET",
    )


def assert_no_secret(harness: TaskHarness, *more: str) -> None:
    for text in [*harness.lines, *more]:
        assert SECRET not in text
        assert AUTH not in text


async def test_posts_the_signed_release_and_succeeds_on_2xx(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor, clock: FakeClock
) -> None:
    receiver.script("POST", "/deploy", Answer(200, json={"ok": True}))

    await webhook.deploy(harness.run(hook(receiver)))

    [got] = receiver.received
    assert (got.method, got.path, got.signed) == ("POST", "/deploy", True)
    assert got.json() == BODY
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-shipyard-delivery"] == DELIVERY
    assert got.headers["idempotency-key"] == DELIVERY
    assert got.headers["x-shipyard-event"] == "deployment"
    assert got.headers["user-agent"] == "shipyard"
    assert harness.logged(f"POST {receiver.url('/deploy')} answered HTTP 200")
    assert clock.sleeps == []
    assert_no_secret(harness)


async def test_the_connections_method_and_header_references_resolved_at_call_time(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor
) -> None:
    receiver.script("PUT", "/deploy", Answer(204))
    connection = {
        "method": "PUT",
        "headers": {"X-Deploy-Auth": "env://DEPLOY_API_AUTH", "X-Team": "web"},
    }

    await webhook.deploy(harness.run(hook(receiver, **connection)))

    [got] = receiver.received
    assert (got.method, got.signed) == ("PUT", True)
    assert got.headers["x-deploy-auth"] == AUTH
    assert got.headers["x-team"] == "web"
    assert_no_secret(harness)


async def test_a_body_signed_with_another_secret_is_refused_by_the_receiver(
    receiver: Receiver,
    harness: TaskHarness,
    webhook: WebhookExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOY_WEBHOOK_SECRET", "not-the-shared-secret")
    receiver.script("POST", "/deploy", Answer(200))

    with pytest.raises(DeployFailed, match=r"answered HTTP 401: .*bad signature"):
        await webhook.deploy(harness.run(hook(receiver)))

    assert [r.signed for r in receiver.received] == [False]


async def test_a_non_2xx_answer_fails_naming_the_status_and_a_masked_snippet(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor
) -> None:
    echoed = f"deploy refused: header was {AUTH} and key {SECRET}; " + "x" * 500
    receiver.script("POST", "/deploy", Answer(503, text=echoed))
    connection = {"headers": {"X-Deploy-Auth": "env://DEPLOY_API_AUTH"}}

    with pytest.raises(DeployFailed) as caught:
        await webhook.deploy(harness.run(hook(receiver, **connection)))

    message = str(caught.value)
    assert f"POST {receiver.url('/deploy')} answered HTTP 503: deploy refused" in message
    assert "header was *** and key ***" in message
    assert len(message) < 300
    assert_no_secret(harness, message)


async def test_lines_and_messages_name_the_url_without_its_query(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor
) -> None:
    receiver.script("POST", "/deploy", Answer(500, text="down"))
    url = receiver.url("/deploy?key=query-token-31337")

    with pytest.raises(DeployFailed) as caught:
        await webhook.deploy(harness.run(hook(receiver, url=url)))

    assert str(caught.value) == f"POST {receiver.url('/deploy')} answered HTTP 500: down"
    assert receiver.received[0].query == "key=query-token-31337"


async def test_polls_the_status_url_with_ids_filled_until_it_succeeds(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor, clock: FakeClock
) -> None:
    receiver.script("POST", "/deploy", Answer(202))
    receiver.script("GET", "/status/7/9", RUNNING, RUNNING, Answer(json={"status": "Succeeded"}))
    connection = {
        "status_url": receiver.url("/status/{job}/{task}"),
        "headers": {"X-Deploy-Auth": "env://DEPLOY_API_AUTH"},
    }

    await webhook.deploy(harness.run(hook(receiver, **connection)))

    polls = receiver.requests("GET", "/status/7/9")
    assert len(polls) == 3
    assert clock.sleeps == [5.0, 5.0]
    assert all(p.headers["x-deploy-auth"] == AUTH for p in polls)
    assert all(p.headers["x-shipyard-delivery"] == DELIVERY for p in polls)
    assert harness.logged("the deployment says 'running'; waiting")
    assert harness.logged("the deployment says 'succeeded': done")
    assert_no_secret(harness)


async def test_polling_reads_again_after_a_server_error(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor, clock: FakeClock
) -> None:
    receiver.script("POST", "/deploy", Answer(200))
    receiver.script(
        "GET", "/status", Answer(502, text="bad gateway"), Answer(json={"state": "done"})
    )

    await webhook.deploy(harness.run(hook(receiver, status_url=receiver.url("/status"))))

    assert len(receiver.requests("GET", "/status")) == 2
    assert clock.sleeps == [5.0]
    assert harness.logged("answered HTTP 502; trying again")


async def test_polling_to_failure_fails_the_deploy_quoting_the_status(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor
) -> None:
    receiver.script("POST", "/deploy", Answer(200))
    failed = Answer(json={"status": "failed", "message": "health check failed on web-2"})
    receiver.script("GET", "/status", RUNNING, failed)

    with pytest.raises(DeployFailed, match=r"the deployment failed: .* says 'failed'") as caught:
        await webhook.deploy(harness.run(hook(receiver, status_url=receiver.url("/status"))))

    assert "health check failed on web-2" in str(caught.value)


async def test_a_status_url_in_the_answer_is_followed(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor
) -> None:
    receiver.script("POST", "/deploy", Answer(200, json={"statusUrl": "/deployments/31"}))
    receiver.script("GET", "/deployments/31", Answer(json={"status": "success"}))

    await webhook.deploy(harness.run(hook(receiver)))

    assert len(receiver.requests("GET", "/deployments/31")) == 1


async def test_times_out_on_the_fake_clock_without_waiting(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor, clock: FakeClock
) -> None:
    receiver.script("POST", "/deploy", Answer(200))
    receiver.script("GET", "/status", RUNNING)
    connection = {"status_url": receiver.url("/status"), "timeout": 60}

    with pytest.raises(DeployFailed, match=r"did not finish within 60s \(it last said 'running'\)"):
        await webhook.deploy(harness.run(hook(receiver, **connection)))

    assert sum(clock.sleeps) == 60
    assert len(receiver.requests("GET", "/status")) == 13  # at 0, 5, …, 60 seconds


async def test_the_tasks_timeout_bounds_polling_too(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor, clock: FakeClock
) -> None:
    receiver.script("POST", "/deploy", Answer(200))
    receiver.script("GET", "/status", RUNNING)

    with pytest.raises(DeployFailed, match=r"within 12s"):
        await webhook.deploy(
            harness.run(hook(receiver, status_url=receiver.url("/status")), timeout=12)
        )

    assert clock.sleeps == [5.0, 5.0, 2.0]


async def test_a_dry_run_sends_nothing_and_names_references_only(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor
) -> None:
    connection = {
        "headers": {"X-Deploy-Auth": "env://DEPLOY_API_AUTH", "X-Team": "web"},
        "status_url": receiver.url("/status/{job}"),
    }

    await webhook.deploy(harness.run(hook(receiver, **connection), dry_run=True))

    assert receiver.received == []
    assert harness.logged(f"would POST {receiver.url('/deploy')}")
    assert harness.logged("X-Deploy-Auth: env://DEPLOY_API_AUTH")
    assert harness.logged("signed with env://DEPLOY_WEBHOOK_SECRET")
    assert harness.logged(f"then poll {receiver.url('/status/7')}")
    body_line = next(line for line in harness.lines if line.startswith("dry run: body: "))
    assert json.loads(body_line.removeprefix("dry run: body: ")) == BODY
    assert_no_secret(harness)


async def test_a_missing_secret_fails_before_anything_is_sent(
    receiver: Receiver,
    harness: TaskHarness,
    webhook: WebhookExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEPLOY_WEBHOOK_SECRET")

    with pytest.raises(DeployFailed, match=r"the credential .*env://DEPLOY_WEBHOOK_SECRET"):
        await webhook.deploy(harness.run(hook(receiver)))

    assert receiver.received == []


async def test_a_value_from_people_stays_data_in_the_body(
    receiver: Receiver, harness: TaskHarness, webhook: WebhookExecutor
) -> None:
    receiver.script("POST", "/deploy", Answer(200))
    hostile = 'say "hi"\n}, "environment": "production'
    variables = {**VARIABLES, "SHIPYARD_PARAM_NOTE": hostile}

    await webhook.deploy(harness.run(hook(receiver), variables=variables))

    [got] = receiver.received
    assert got.signed is True
    assert got.json()["params"] == {"note": hostile, "reason": "hotfix"}
    assert got.json()["environment"] == "staging"


async def test_runs_no_commands(harness: TaskHarness, receiver: Receiver) -> None:
    with pytest.raises(NotSupported, match="is a webhook: it runs no commands"):
        await executor.run_command(harness.run(hook(receiver)), "true", {})
    assert executor.type_name == "webhook"


async def test_test_resolves_everything_and_falls_back_until_a_method_is_allowed(
    receiver: Receiver, harness: TaskHarness
) -> None:
    receiver.script("HEAD", "/deploy", Answer(405))
    receiver.script("OPTIONS", "/deploy", Answer(405))
    receiver.script("GET", "/deploy", Answer(200, text="the deploy hook"))
    connection = {"headers": {"X-Deploy-Auth": "env://DEPLOY_API_AUTH"}}

    result = await executor.test(harness.run(hook(receiver, **connection)))

    assert result.ok, result.checks
    assert [name for name, _, _ in result.checks] == [
        "credential",
        "header X-Deploy-Auth",
        "reachable",
    ]
    assert [r.method for r in receiver.received] == ["HEAD", "OPTIONS", "GET"]
    assert receiver.received[0].headers["x-deploy-auth"] == AUTH
    assert result.checks[2][2] == f"GET {receiver.url('/deploy')} answered HTTP 200"
    assert_no_secret(harness, *(detail for _, _, detail in result.checks))


async def test_test_says_what_failed(harness: TaskHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOY_API_AUTH")
    nowhere = f"http://127.0.0.1:{free_port()}/deploy"
    run = harness.run(
        target(
            {
                "type": "webhook",
                "url": nowhere,
                "headers": {"X-Deploy-Auth": "env://DEPLOY_API_AUTH"},
            },
            credential="env://DEPLOY_WEBHOOK_SECRET",
        )
    )

    result = await executor.test(run)

    assert not result.ok
    assert [(name, ok) for name, ok, _ in result.checks] == [
        ("credential", True),
        ("header X-Deploy-Auth", False),
        ("reachable", False),
    ]
    assert "env://DEPLOY_API_AUTH" in result.checks[1][2]
    assert result.checks[2][2] == "could not reach " + nowhere + " (ConnectError)"


# The body on its own


def body_of(variables: dict[str, str]) -> dict[str, Any]:
    return payload_of(variables, environment="prod", target="t", job_id=1, task_id=2, attempt=3)


def test_the_body_names_every_components_image_when_the_variables_do() -> None:
    images = {"web": "ghcr.io/acme/web", "worker": "ghcr.io/acme/worker"}
    body = body_of({**VARIABLES, "SHIPYARD_IMAGES": json.dumps(images)})

    assert [c["image"] for c in body["release"]["components"]] == list(images.values())
    assert (body["environment"], body["target"], body["job"], body["task"]) == ("prod", "t", 1, 2)


def test_one_component_without_the_digests_of_all() -> None:
    variables = {
        "SHIPYARD_RELEASE": "api 2.0.0",
        "SHIPYARD_COMPONENT": "api",
        "SHIPYARD_IMAGE": "ghcr.io/acme/api",
        "SHIPYARD_DIGEST": "sha256:" + "3" * 64,
        "SHIPYARD_PARAM_DRY_RUN_NOTE": "first",
    }

    body = body_of(variables)

    assert body["release"] == {
        "id": None,
        "name": "api 2.0.0",
        "version": None,
        "commit": None,
        "components": [
            {"name": "api", "image": "ghcr.io/acme/api", "digest": "sha256:" + "3" * 64}
        ],
    }
    assert body["digests"] == {"api": "sha256:" + "3" * 64}
    assert body["params"] == {"dry_run_note": "first"}


@pytest.mark.parametrize("bad", ["{not json", "[1, 2]", '"web"'])
def test_digests_that_are_not_a_json_object_fail_the_deploy(bad: str) -> None:
    with pytest.raises(DeployFailed, match="SHIPYARD_DIGESTS is not a JSON object"):
        body_of({**VARIABLES, "SHIPYARD_DIGESTS": bad})
