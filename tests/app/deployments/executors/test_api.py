"""The api executor against a real receiver on loopback (uvicorn) that checks the bearer token:
the rendered body template, the status URL from a Location header, polling on a fake clock,
failures, the dry run and `test`; and the body template rendering on its own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.deployments.executors.api import ApiExecutor, executor, render_body
from app.deployments.executors.base import DeployFailed, NotSupported, TargetInfo
from app.deployments.executors.http_calls import Polling
from app.deployments.executors.payload import payload_of
from tests.support.clock import FakeClock
from tests.support.deploy_receiver import Answer, Receiver, receiving
from tests.support.deploy_tasks import DIGESTS, VARIABLES, TaskHarness, target

TOKEN = "api-token-5f4e3d2c1b0a99887766"
NAMES = payload_of(VARIABLES, environment="staging", target="web", job_id=7, task_id=9, attempt=1)
TEMPLATE = json.dumps(
    {
        "service": "web",
        "image": "{{ release.components[0].image }}@{{ digests.web }}",
        "digests": "{{ digests }}",
        "attempt": "{{ attempt }}",
        "reason": "{{ params.reason }}",
    }
)


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_API_TOKEN", TOKEN)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving(token=TOKEN) as receiver:
        yield receiver


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[TaskHarness]:
    async with httpx.AsyncClient() as http:
        yield TaskHarness(tmp_path, http)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> ApiExecutor:
    return ApiExecutor(polling=Polling(interval=3.0, sleep=clock.sleep, clock=clock.time))


def endpoint(receiver: Receiver, **connection: Any) -> TargetInfo:
    return target(
        {"type": "api", "url": receiver.url("/v1/deployments"), "body": TEMPLATE, **connection},
        credential="env://DEPLOY_API_TOKEN",
    )


async def test_sends_the_rendered_body_with_the_bearer_token(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor
) -> None:
    receiver.script("POST", "/v1/deployments", Answer(200, json={"id": "d-1"}))

    await api.deploy(harness.run(endpoint(receiver)))

    [got] = receiver.received
    assert got.headers["authorization"] == f"Bearer {TOKEN}"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["idempotency-key"] == "job-7.task-9.attempt-2"
    assert "x-shipyard-signature-256" not in got.headers
    assert got.json() == {
        "service": "web",
        "image": f"ghcr.io/acme/web@{DIGESTS['web']}",
        "digests": DIGESTS,
        "attempt": 2,
        "reason": "hotfix",
    }
    assert not harness.logged(TOKEN)


async def test_a_wrong_token_is_refused_and_the_deploy_fails(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_API_TOKEN", "an-expired-token-000")
    receiver.script("POST", "/v1/deployments", Answer(201))

    with pytest.raises(DeployFailed, match=r"answered HTTP 401: .*bad token"):
        await api.deploy(harness.run(endpoint(receiver)))


async def test_follows_the_location_of_a_202_until_the_deployment_succeeds(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor, clock: FakeClock
) -> None:
    accepted = Answer(202, headers={"Location": "/v1/deployments/d-7"})
    receiver.script("POST", "/v1/deployments", accepted)
    receiver.script(
        "GET",
        "/v1/deployments/d-7",
        Answer(json={"status": "pending"}),
        Answer(json={"status": "running"}),
        Answer(json={"status": "successful"}),
    )

    await api.deploy(harness.run(endpoint(receiver)))

    polls = receiver.requests("GET", "/v1/deployments/d-7")
    assert len(polls) == 3
    assert all(p.headers["authorization"] == f"Bearer {TOKEN}" for p in polls)
    assert clock.sleeps == [3.0, 3.0]
    assert harness.logged(f"following the deployment at {receiver.url('/v1/deployments/d-7')}")


async def test_a_location_on_another_origin_is_not_sent_the_token(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor
) -> None:
    async with receiving() as elsewhere:
        elsewhere.script("GET", "/status", Answer(json={"status": "done"}))
        accepted = Answer(202, headers={"Location": elsewhere.url("/status")})
        receiver.script("POST", "/v1/deployments", accepted)

        with pytest.raises(DeployFailed, match="status URL on another origin"):
            await api.deploy(harness.run(endpoint(receiver)))

    assert elsewhere.received == []


async def test_the_status_url_of_the_target_wins_and_its_failure_fails_the_deploy(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor
) -> None:
    accepted = Answer(202, headers={"Location": "/v1/elsewhere"})
    receiver.script("POST", "/v1/deployments", accepted)
    receiver.script("GET", "/v1/jobs/7", Answer(json={"status": "ERROR", "reason": "no capacity"}))
    status_url = receiver.url("/v1/jobs/{job}")

    with pytest.raises(DeployFailed, match=r"says 'error'.*no capacity"):
        await api.deploy(harness.run(endpoint(receiver, status_url=status_url)))

    assert receiver.requests("GET", "/v1/elsewhere") == []


async def test_times_out_on_the_fake_clock(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor, clock: FakeClock
) -> None:
    receiver.script("POST", "/v1/deployments", Answer(201, json={"status_url": "/v1/d/1"}))
    receiver.script("GET", "/v1/d/1", Answer(json={"status": "in_progress"}))

    with pytest.raises(DeployFailed, match=r"did not finish within 10s"):
        await api.deploy(harness.run(endpoint(receiver, timeout=10)))

    assert clock.sleeps == [3.0, 3.0, 3.0, 1.0]


async def test_a_status_answer_that_is_not_json_fails(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor
) -> None:
    receiver.script("POST", "/v1/deployments", Answer(202, headers={"Location": "/v1/d/2"}))
    receiver.script("GET", "/v1/d/2", Answer(200, text="<html>login</html>"))

    with pytest.raises(DeployFailed, match=r"without a JSON object .*<html>login</html>"):
        await api.deploy(harness.run(endpoint(receiver)))


async def test_a_body_that_is_not_json_fails_before_anything_is_sent(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor
) -> None:
    broken = '{"release": {{ release.name }}}'  # a name is text: it needed `| tojson`

    with pytest.raises(DeployFailed, match="did not render to JSON"):
        await api.deploy(harness.run(endpoint(receiver, body=broken)))

    assert receiver.received == []


async def test_a_dry_run_sends_nothing_and_shows_the_token_as_its_reference(
    receiver: Receiver, harness: TaskHarness, api: ApiExecutor
) -> None:
    await api.deploy(harness.run(endpoint(receiver), dry_run=True))

    assert receiver.received == []
    assert harness.logged("Authorization: Bearer env://DEPLOY_API_TOKEN")
    assert harness.logged('"reason":"hotfix"')
    assert not harness.logged(TOKEN)
    assert harness.mask(TOKEN) == TOKEN  # nothing was even resolved


async def test_runs_no_commands(harness: TaskHarness, receiver: Receiver) -> None:
    with pytest.raises(NotSupported, match="runs no commands"):
        await executor.run_command(harness.run(endpoint(receiver)), "curl -f x", {})
    assert executor.type_name == "api"


async def test_test_proves_the_token_with_a_head(receiver: Receiver, harness: TaskHarness) -> None:
    receiver.script("HEAD", "/v1/deployments", Answer(204))

    result = await executor.test(harness.run(endpoint(receiver)))

    assert result.ok, result.checks
    [head] = receiver.received
    assert head.headers["authorization"] == f"Bearer {TOKEN}"


async def test_test_fails_when_the_token_is_refused(
    receiver: Receiver, harness: TaskHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_API_TOKEN", "a-revoked-token-111")
    receiver.script("HEAD", "/v1/deployments", Answer(204))

    result = await executor.test(harness.run(endpoint(receiver)))

    assert [(name, ok) for name, ok, _ in result.checks] == [
        ("credential", True),
        ("reachable", False),
    ]
    assert "the credential or headers were refused" in result.checks[1][2]


# The body template on its own


@pytest.mark.parametrize(
    ("template", "body"),
    [
        (None, NAMES),
        ('{"v": "{{ release.version }}", "n": 3}', {"v": "1.4.0", "n": 3}),
        (
            '{"id": "{{ release.id }}", "all": "{{ params }}"}',
            {"id": 12, "all": {"reason": "hotfix"}},
        ),
        (
            '{"name": {{ release.name | tojson }}, "job": {{ job }}}',
            {"name": "web 1.4.0", "job": 7},
        ),
        ("{{ digests }}", DIGESTS),
        (
            '[{% for c in release.components %}"{{ c.name }}"'
            '{{ "," if not loop.last }}{% endfor %}]',
            ["web", "worker"],
        ),
    ],
)
def test_body_templates_render_to_json(template: str | None, body: Any) -> None:
    assert json.loads(render_body(template, NAMES)) == body


def test_a_value_from_people_cannot_break_a_json_template() -> None:
    hostile = {**NAMES, "params": {"note": 'x", "environment": "production'}}

    body = json.loads(render_body('{"note": "{{ params.note }}", "env": "staging"}', hostile))

    assert body == {"note": 'x", "environment": "production', "env": "staging"}


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ('"{{ release.name }}"', "not a string"),
        ("{{ job }}", "not a number"),
        ("{{ nothing }}", "not null"),
        ('{"a": {{ release.name }}}', "did not render to JSON"),
        ('{"a": "{{ "".__class__ }}"}', "refused by the sandbox"),
        ('{"a": "{{ release.name("x") }}"}', "body template"),
    ],
)
def test_bad_body_templates_say_why(template: str, words: str) -> None:
    with pytest.raises(DeployFailed, match="body template") as caught:
        render_body(template, NAMES)
    assert words in str(caught.value)
