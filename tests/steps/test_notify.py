"""notify: the exact Slack and webhook requests, the signature, and secrets kept out of sight."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from steps.base import StepFailed
from steps.notify import Notify, NotifyConfig, default_payload, signature
from tests.support.steps import LearningMask, StepHarness

SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/sEcReTsLaCkToKeN"
HOOK_URL = "https://deploys.example.com/hooks/shipyard"
HMAC_KEY = "whsec-very-secret-key"


@pytest.fixture(autouse=True)
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", SLACK_URL)
    monkeypatch.setenv("HOOK_SECRET", HMAC_KEY)


@pytest.fixture
def harness(harness: StepHarness) -> StepHarness:
    """The server defines the step's secrets from its environment, granted to acme/web."""
    for name in ("SLACK_WEBHOOK_URL", "HOOK_SECRET", "DEPLOY_HOOK_URL"):
        harness.grant(name, f"env://{name}")
    return harness


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def config(**values: Any) -> NotifyConfig:
    return NotifyConfig.model_validate(values)


def assert_secret_free(harness: StepHarness, *texts: object, secret: str) -> None:
    assert harness.secrets == []  # the harness masks nothing: the step itself must
    for text in [*harness.lines, *map(str, texts)]:
        assert secret not in text


async def test_slack_posts_the_text_as_json(harness: StepHarness, mock: respx.MockRouter) -> None:
    route = mock.post(SLACK_URL).mock(return_value=httpx.Response(200, text="ok"))

    outputs = await Notify().run(harness.context(), config(slack={"text": "Deployed *v1.2*"}))

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == SLACK_URL
    assert request.content == b'{"text":"Deployed *v1.2*"}'
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "shipyard"
    assert "x-shipyard-delivery" not in request.headers
    assert outputs == {"status_code": 200}
    assert harness.recorded["status_code"] == 200
    assert_secret_free(harness, outputs, secret=SLACK_URL)


async def test_slack_error_names_the_status_and_slacks_word_not_the_url(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    mock.post(SLACK_URL).mock(return_value=httpx.Response(404, text="channel_not_found"))

    with pytest.raises(StepFailed) as caught:
        await Notify().run(harness.context(), config(slack={"text": "hi"}))

    assert str(caught.value) == "notify: Slack answered HTTP 404: channel_not_found"
    assert "status_code" not in harness.recorded


async def test_an_error_body_that_echoes_the_url_is_masked(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    echo = f"no such hook: {SLACK_URL}"
    mock.post(SLACK_URL).mock(return_value=httpx.Response(410, text=echo))

    with pytest.raises(StepFailed) as caught:
        await Notify().run(harness.context(), config(slack={"text": "hi"}))

    assert "HTTP 410" in str(caught.value)
    assert "***" in str(caught.value)
    assert_secret_free(harness, caught.value, caught.value.__cause__, secret=SLACK_URL)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (httpx.ConnectError(f"cannot connect to {SLACK_URL}"), "could not reach Slack"),
        (httpx.ReadTimeout(f"timed out reading {SLACK_URL}"), "did not answer within 10s"),
    ],
)
async def test_transport_failures_do_not_leak_the_url(
    harness: StepHarness, mock: respx.MockRouter, error: Exception, words: str
) -> None:
    mock.post(SLACK_URL).mock(side_effect=error)

    with pytest.raises(StepFailed, match=words) as caught:
        await Notify().run(harness.context(), config(slack={"text": "hi"}))

    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert_secret_free(harness, caught.value, secret=SLACK_URL)


async def test_an_unset_variable_fails_before_any_request(
    harness: StepHarness, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL")

    with pytest.raises(StepFailed, match="SLACK_WEBHOOK_URL is not set"):
        await Notify().run(harness.context(), config(slack={"text": "hi"}))

    assert not mock.calls


def test_a_literal_slack_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as caught:
        config(slack={"webhook_url": SLACK_URL, "text": "hi"})

    assert "secret://NAME" in str(caught.value)
    assert SLACK_URL not in str(caught.value)
    assert "sEcReT" not in str(caught.value)


async def test_webhook_posts_the_default_payload_signed(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    route = mock.post(HOOK_URL).mock(return_value=httpx.Response(204))

    outputs = await Notify().run(
        harness.context(), config(webhook={"url": HOOK_URL, "secret": "secret://HOOK_SECRET"})
    )

    request = route.calls.last.request
    expected = {
        "run_id": 1,
        "pipeline": "review",
        "repository": "acme/web",
        "sha": "a" * 40,
        "ref": "refs/heads/feature",
        "pr_number": 7,
        "run_url": "http://shipyard.test/runs/1",
    }
    assert request.method == "POST"
    assert str(request.url) == HOOK_URL
    assert json.loads(request.content) == expected
    assert request.content == json.dumps(expected, separators=(",", ":")).encode()
    digest = hmac.new(HMAC_KEY.encode(), request.content, hashlib.sha256).hexdigest()
    assert request.headers["x-shipyard-signature-256"] == f"sha256={digest}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "shipyard"
    assert request.headers["x-shipyard-event"] == "pipeline.notify"
    delivery = request.headers["x-shipyard-delivery"]
    assert uuid.UUID(delivery).version == 4
    assert outputs == {"status_code": 204, "delivery_id": delivery}
    assert_secret_free(harness, outputs, secret=HMAC_KEY)


async def test_webhook_sends_a_given_payload_unsigned_without_a_secret(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    route = mock.post(HOOK_URL).mock(return_value=httpx.Response(200, json={"ok": True}))
    payload = {"text": "déployé", "nested": {"n": 1, "list": [1, "two"]}}

    await Notify().run(harness.context(), config(webhook={"url": HOOK_URL, "payload": payload}))

    request = route.calls.last.request
    assert request.content == '{"text":"déployé","nested":{"n":1,"list":[1,"two"]}}'.encode()
    assert "x-shipyard-signature-256" not in request.headers


async def test_webhook_error_names_the_status(harness: StepHarness, mock: respx.MockRouter) -> None:
    mock.post(HOOK_URL).mock(return_value=httpx.Response(503, text=f"down; key={HMAC_KEY}"))

    with pytest.raises(StepFailed, match="the webhook answered HTTP 503") as caught:
        await Notify().run(
            harness.context(), config(webhook={"url": HOOK_URL, "secret": "secret://HOOK_SECRET"})
        )

    assert_secret_free(harness, caught.value, secret=HMAC_KEY)


async def test_a_retry_resends_with_the_same_delivery_id(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    route = mock.post(HOOK_URL)
    route.side_effect = [httpx.Response(500), httpx.Response(200)]
    notice = config(webhook={"url": HOOK_URL})

    with pytest.raises(StepFailed):
        await Notify().run(harness.context(), notice)
    outputs = await Notify().run(harness.context(attempt=2), notice)

    first, second = (call.request.headers["x-shipyard-delivery"] for call in route.calls)
    assert first == second == outputs["delivery_id"]


async def test_a_retry_after_a_delivery_does_not_send_again(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    route = mock.post(HOOK_URL).mock(return_value=httpx.Response(200))
    notice = config(webhook={"url": HOOK_URL})
    first = await Notify().run(harness.context(), notice)

    again = await Notify().run(harness.context(attempt=2), notice)

    assert route.call_count == 1
    assert again == first


async def test_a_webhook_url_can_itself_be_a_secret(
    harness: StepHarness, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_url = "https://hooks.example.com/t/abcdef0123456789"
    monkeypatch.setenv("DEPLOY_HOOK_URL", secret_url)
    route = mock.post(secret_url).mock(return_value=httpx.Response(400, text=secret_url))

    with pytest.raises(StepFailed) as caught:
        await Notify().run(harness.context(), config(webhook={"url": "secret://DEPLOY_HOOK_URL"}))

    assert route.called
    assert_secret_free(harness, caught.value, secret=secret_url)


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"slack": {"text": "a"}, "webhook": {"url": HOOK_URL}},
        {"slack": {"text": ""}},
        {"webhook": {"url": "ftp://x"}},
        {"webhook": {"url": HOOK_URL, "secret": HMAC_KEY}},
        {"webhook": {"url": HOOK_URL, "headers": {}}},
    ],
)
def test_config_is_checked_and_never_echoes_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        config(**bad)

    assert HMAC_KEY not in str(caught.value)


async def test_resolved_secrets_are_taught_to_the_runs_mask(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    mock.post(SLACK_URL).mock(return_value=httpx.Response(200, text="ok"))
    learner = LearningMask()
    ctx = harness.context(mask=learner)

    await Notify().run(ctx, config(slack={"text": "hi"}))

    assert learner.known == [SLACK_URL]


def test_signature_is_github_style_hmac_sha256() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature("k", body) == f"sha256={expected}"


def test_default_payload_has_no_pull_request_outside_one(harness: StepHarness) -> None:
    assert default_payload(harness.context(pr_number=None))["pr_number"] is None


def test_the_step_names_itself_for_the_registry() -> None:
    from steps import notify

    assert notify.step.type_name == "notify"
    assert notify.step.Config is NotifyConfig
