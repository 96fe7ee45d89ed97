"""ai_review: the exact Messages API request, the answer, truncation, errors, and the key hidden."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from steps.ai_review import AiReview, AiReviewConfig, build_prompt, truncate_diff
from steps.base import AiService, StepFailed
from tests.support.steps import LearningMask, StepHarness

KEY = "sk-ant-api03-test-key-0123456789"
MESSAGES = "https://api.anthropic.com/v1/messages"
DIFF = (
    "diff --git a/app.py b/app.py\n"
    "--- a/app.py\n"
    "+++ b/app.py\n"
    "@@ -1 +1 @@\n"
    "-print('hi')\n"
    "+print('hello')\n"
)
REPLY = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "x"},
        {"type": "text", "text": "Looks good. "},
        {"type": "tool_use", "id": "t1", "name": "x", "input": {}},
        {"type": "text", "text": "One nit: say hello."},
    ],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 120, "output_tokens": 12},
}


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def harness(harness: StepHarness) -> StepHarness:
    """The server holds ANTHROPIC_API_KEY (KEY)."""
    harness.provider.diff = DIFF
    harness.ai = AiService(
        api_url="https://api.anthropic.com", model="claude-sonnet-4-5", api_key=KEY
    )
    return harness


def config(**values: Any) -> AiReviewConfig:
    return AiReviewConfig.model_validate({"prompt": "Review this change.", **values})


def assert_key_hidden(harness: StepHarness, *texts: object) -> None:
    assert harness.secrets == []  # the harness masks nothing: the step itself must
    for text in [*harness.lines, *map(str, texts)]:
        assert KEY not in text


async def test_sends_the_prompt_and_diff_and_joins_the_text_blocks(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    route = mock.post(MESSAGES).mock(return_value=httpx.Response(200, json=REPLY))

    outputs = await AiReview().run(harness.context(), config())

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == MESSAGES
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": f"Review this change.\n\n```diff\n{DIFF}```\n"},
        ],
    }
    assert outputs == {
        "answer": "Looks good. One nit: say hello.",
        "model": "claude-sonnet-4-5-20250929",
        "input_tokens": 120,
        "output_tokens": 12,
        "truncated": False,
    }
    assert harness.provider.calls[-1][0] == "pull_request_diff"
    assert harness.provider.calls[-1][1][1] == 7
    assert_key_hidden(harness, outputs)


async def test_model_and_max_tokens_come_from_config_then_settings(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    route = mock.post("https://llm-proxy.example/v1/messages").mock(
        return_value=httpx.Response(200, json=REPLY)
    )
    ai = AiService(api_url="https://llm-proxy.example/", model="m-1", api_key=KEY)

    await AiReview().run(harness.context(ai=ai), config(max_tokens=50))
    await AiReview().run(harness.context(ai=ai), config(model="claude-opus-4-1"))

    first, second = (json.loads(call.request.content) for call in route.calls)
    assert (first["model"], first["max_tokens"]) == ("m-1", 50)
    assert (second["model"], second["max_tokens"]) == ("claude-opus-4-1", 1024)


async def test_a_long_diff_is_truncated_and_the_prompt_says_so(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    harness.provider.diff = "".join(f"+line {n:04d} é\n" for n in range(1000))
    route = mock.post(MESSAGES).mock(return_value=httpx.Response(200, json=REPLY))

    outputs = await AiReview().run(harness.context(), config(max_diff_bytes=100))

    content = json.loads(route.calls.last.request.content)["messages"][0]["content"]
    sent = content.split("```diff\n", 1)[1].rsplit("```", 1)[0]
    assert outputs["truncated"] is True
    assert "truncated" in content.split("```diff", 1)[0]
    assert len(sent.encode()) <= 100
    assert sent.endswith("é\n")
    assert harness.provider.diff.startswith(sent)


def test_truncation_never_splits_a_character() -> None:
    cut, truncated = truncate_diff("ééééé", 5)  # no line end: cut at a byte count
    assert (cut, truncated) == ("éé", True)
    assert truncate_diff("short\n", 6) == ("short\n", False)


def test_a_diff_with_backtick_fences_gets_a_longer_fence() -> None:
    prompt = build_prompt("Review.", "+```python\n+x = 1\n+```\n", truncated=False)
    assert prompt == "Review.\n\n````diff\n+```python\n+x = 1\n+```\n````\n"


async def test_without_a_pull_request_the_step_fails_before_any_call(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    with pytest.raises(StepFailed, match="pull request"):
        await AiReview().run(harness.context(pr_number=None), config())

    assert not mock.calls
    assert harness.provider.calls == []


async def test_an_api_error_gives_anthropics_type_and_message(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    mock.post(MESSAGES).mock(
        return_value=httpx.Response(
            401,
            json={
                "type": "error",
                "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                "request_id": "req_011",
            },
            headers={"request-id": "req_011"},
        )
    )

    with pytest.raises(StepFailed) as caught:
        await AiReview().run(harness.context(), config())

    assert str(caught.value) == (
        "ai_review: Anthropic answered 401 authentication_error: invalid x-api-key "
        "(request req_011)"
    )


async def test_an_error_that_quotes_the_key_is_masked(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    error = {"type": "invalid_request_error", "message": f"bad key {KEY}"}
    mock.post(MESSAGES).mock(return_value=httpx.Response(400, json={"error": error}))

    with pytest.raises(StepFailed, match="400 invalid_request_error: bad key \\*\\*\\*") as caught:
        await AiReview().run(harness.context(), config())

    assert_key_hidden(harness, caught.value, repr(caught.value))


async def test_a_non_json_error_still_names_the_status(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    mock.post(MESSAGES).mock(return_value=httpx.Response(502, text="<html>Bad gateway</html>"))

    with pytest.raises(StepFailed, match="Anthropic answered 502: <html>Bad gateway</html>"):
        await AiReview().run(harness.context(), config())


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (httpx.ConnectError(f"refused; x-api-key: {KEY}"), "could not reach Anthropic"),
        (httpx.ReadTimeout("slow"), "did not answer within 120s"),
    ],
)
async def test_transport_failures_fail_the_step_without_the_key(
    harness: StepHarness, mock: respx.MockRouter, error: Exception, words: str
) -> None:
    mock.post(MESSAGES).mock(side_effect=error)

    with pytest.raises(StepFailed, match=words) as caught:
        await AiReview().run(harness.context(), config())

    assert caught.value.__cause__ is None
    assert_key_hidden(harness, caught.value)


async def test_the_key_is_taught_to_the_runs_mask(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    mock.post(MESSAGES).mock(return_value=httpx.Response(200, json=REPLY))
    learner = LearningMask()

    await AiReview().run(harness.context(mask=learner), config())

    assert learner.known == [KEY]


async def test_the_settings_key_serves_the_default_reference_only(
    harness: StepHarness, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = mock.post(MESSAGES).mock(return_value=httpx.Response(200, json=REPLY))
    ai = AiService(
        api_url="https://api.anthropic.com", model="claude-sonnet-4-5", api_key="sk-from-settings"
    )
    monkeypatch.setenv("TEAM_CLAUDE_KEY", "sk-team-key")
    harness.grant("TEAM_CLAUDE_KEY", "env://TEAM_CLAUDE_KEY")

    await AiReview().run(harness.context(ai=ai), config())
    await AiReview().run(harness.context(ai=ai), config(api_key="secret://TEAM_CLAUDE_KEY"))

    used = [call.request.headers["x-api-key"] for call in route.calls]
    assert used == ["sk-from-settings", "sk-team-key"]


async def test_an_unset_key_fails_naming_the_setting(
    harness: StepHarness, mock: respx.MockRouter
) -> None:
    harness.ai = AiService(api_url="https://api.anthropic.com", model="claude-sonnet-4-5")

    with pytest.raises(StepFailed, match="ANTHROPIC_API_KEY is not set"):
        await AiReview().run(harness.context(), config())

    assert not mock.calls


@pytest.mark.parametrize(
    "bad",
    [{"api_key": KEY}, {"prompt": ""}, {"max_tokens": 0}, {"max_diff_bytes": -1}, {"x": 1}],
)
def test_config_is_checked_and_never_echoes_a_key(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        config(**bad)

    assert KEY not in str(caught.value)


def test_the_step_names_itself_for_the_registry() -> None:
    from steps import ai_review

    assert ai_review.step.type_name == "ai_review"
    assert ai_review.step.Config is AiReviewConfig
