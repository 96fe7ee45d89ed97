"""`ai_review`: ask Claude (Anthropic's Messages API) to review a pull request's diff.

POST {anthropic_api_url}/v1/messages with `x-api-key`, `anthropic-version: 2023-06-01` and
`{"model", "max_tokens", "messages": [{"role": "user", "content": prompt + diff}]}`. The
answer is the `text` of the reply's text blocks, joined; errors come back as
`{"type": "error", "error": {"type", "message"}}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
from pydantic import ConfigDict, Field, field_validator

from providers.errors import ProviderError
from steps.base import StepConfig, StepContext, StepFailed
from steps.config_types import Duration
from steps.secret_refs import SecretError, check_reference

ANTHROPIC_VERSION = "2023-06-01"
_DETAIL_CHARS = 300
_BACKTICKS = re.compile(r"`+")


class AiReviewConfig(StepConfig):
    """`prompt` is rendered by the engine; the diff is appended to it in a fenced block.
    `model` defaults to the server's SHIPYARD_AI_MODEL. `api_key` is a secret reference
    (secret://NAME); without one, the server's own ANTHROPIC_API_KEY serves, used by Shipyard
    for the call and never given to the run."""

    model_config = ConfigDict(hide_input_in_errors=True)

    prompt: str = Field(min_length=1)
    model: str | None = Field(None, min_length=1)
    max_tokens: int = Field(1024, gt=0)
    max_diff_bytes: int = Field(200_000, gt=0)
    api_key: str | None = None
    timeout: Duration = 120.0

    @field_validator("api_key")
    @classmethod
    def _api_key_is_reference(cls, value: str | None) -> str | None:
        if value is not None:
            check_reference(value)
        return value


class AiReview:
    """Review the run's pull request; the answer is ready for `post_comment`'s `body_from`."""

    type_name: ClassVar[str] = "ai_review"
    Config: ClassVar[type[StepConfig]] = AiReviewConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        if not isinstance(config, AiReviewConfig):
            raise TypeError(f"ai_review needs an AiReviewConfig, not {type(config).__name__}")
        number = ctx.run.pr_number
        if number is None:
            raise StepFailed("ai_review reviews a pull request, and this run has none")
        key = await _api_key(ctx, config)
        clean = ctx.mask
        diff, truncated = truncate_diff(await _diff(ctx, number), config.max_diff_bytes)
        model = config.model or ctx.ai.model
        ctx.log(
            f"ai_review: asking {model} about #{number} ({len(diff.encode())} bytes of diff"
            f"{', truncated' if truncated else ''})"
        )
        prompt = build_prompt(config.prompt, diff, truncated)
        reply = await _ask(ctx.http, ctx.ai.api_url, key, config, model, prompt, clean)
        usage = reply.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        outputs = {
            "answer": clean(answer_text(reply)),
            "model": clean(str(reply.get("model") or model)),
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "truncated": truncated,
        }
        if reply.get("stop_reason") == "max_tokens":
            ctx.log(f"ai_review: the answer was cut at max_tokens ({config.max_tokens})")
        ctx.log(f"ai_review: {outputs['input_tokens']} tokens in, {outputs['output_tokens']} out")
        return outputs


def truncate_diff(diff: str, max_bytes: int) -> tuple[str, bool]:
    """The diff cut to at most `max_bytes` UTF-8 bytes, at a line end where there is one."""
    raw = diff.encode()
    if len(raw) <= max_bytes:
        return diff, False
    cut = raw[:max_bytes]
    if (newline := cut.rfind(b"\n")) > 0:
        cut = cut[: newline + 1]
    return cut.decode(errors="ignore"), True


def build_prompt(prompt: str, diff: str, truncated: bool) -> str:
    """The prompt, a note when the diff was truncated, then the diff in a fence it cannot close."""
    fence = "`" * max(3, _longest_backtick_run(diff) + 1)
    note = (
        "\n\nThe diff is too long and was truncated: only its beginning is shown below, "
        "so do not comment on files or lines that are missing from it."
        if truncated
        else ""
    )
    body = diff if diff.endswith("\n") or not diff else diff + "\n"
    return f"{prompt.rstrip()}{note}\n\n{fence}diff\n{body}{fence}\n"


def answer_text(reply: dict[str, Any]) -> str:
    """The concatenated `text` of the reply's `text` content blocks."""
    blocks = reply.get("content") or []
    return "".join(
        str(block.get("text", ""))
        for block in blocks
        if isinstance(block, dict) and block.get("type") == "text"
    )


async def _ask(
    http: httpx.AsyncClient,
    api_url: str,
    key: str,
    config: AiReviewConfig,
    model: str,
    content: str,
    clean: Callable[[str], str],
) -> dict[str, Any]:
    url = api_url.rstrip("/") + "/v1/messages"
    headers = {
        "x-api-key": key,
        "anthropic-version": ANTHROPIC_VERSION,
        "content-type": "application/json",
    }
    body = {
        "model": model,
        "max_tokens": config.max_tokens,
        "messages": [{"role": "user", "content": content}],
    }
    try:
        response = await http.post(url, json=body, headers=headers, timeout=config.timeout)
    except httpx.TimeoutException:
        raise StepFailed(
            f"ai_review: Anthropic did not answer within {config.timeout:g}s"
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise StepFailed(f"ai_review: could not reach Anthropic ({type(error).__name__})") from None
    if not response.is_success:
        raise StepFailed(clean(_error_message(response)))
    try:
        reply = response.json()
    except ValueError:
        raise StepFailed("ai_review: Anthropic answered with something that is not JSON") from None
    if not isinstance(reply, dict):
        raise StepFailed("ai_review: Anthropic answered with JSON that is not a message")
    return reply


def _error_message(response: httpx.Response) -> str:
    """`Anthropic answered 401 authentication_error: invalid x-api-key (request req_…)`."""
    kind, message = "", ""
    try:
        error = response.json().get("error") or {}
        kind, message = str(error.get("type") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError):
        message = " ".join(response.text[:_DETAIL_CHARS].split())
    request_id = response.headers.get("request-id")
    return (
        f"ai_review: Anthropic answered {response.status_code}"
        + (f" {kind}" if kind else "")
        + (f": {message[:_DETAIL_CHARS]}" if message else "")
        + (f" (request {request_id})" if request_id else "")
    )


async def _diff(ctx: StepContext, number: int) -> str:
    try:
        return await ctx.provider.pull_request_diff(ctx.run.repo, number)
    except ProviderError as error:
        if error.retryable:
            raise
        raise StepFailed(f"ai_review: could not read the diff of #{number}: {error}") from error


async def _api_key(ctx: StepContext, config: AiReviewConfig) -> str:
    """The reference's value; without one, the server's ANTHROPIC_API_KEY (none for a run whose
    code is not trusted: it gets no secret of any kind)."""
    if config.api_key is None:
        if not ctx.ai.api_key:
            raise StepFailed(
                "ai_review: ANTHROPIC_API_KEY is not set on the server (or this run may use no "
                "secrets); set it, or give api_key: secret://NAME"
            )
        ctx.mask.add(ctx.ai.api_key)
        return ctx.ai.api_key
    try:
        return await ctx.secrets.resolve(config.api_key)
    except SecretError as error:
        raise StepFailed(f"ai_review: api_key: {error}") from None


def _longest_backtick_run(text: str) -> int:
    return max(map(len, _BACKTICKS.findall(text)), default=0)


step = AiReview()
