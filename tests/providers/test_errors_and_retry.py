"""The error taxonomy, rate-limit reading and the retry policy, on a fake clock."""

from __future__ import annotations

import pytest

from providers.errors import (
    AuthenticationFailed,
    Forbidden,
    NotFound,
    ProviderError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
    error_for_response,
)
from providers.retry import RetryPolicy, with_retries
from tests.support.clock import FakeClock

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("status", "headers", "kind"),
    [
        (401, {}, AuthenticationFailed),
        (403, {}, Forbidden),
        (403, {"x-ratelimit-remaining": "5"}, Forbidden),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}, RateLimited),
        (403, {"retry-after": "60"}, RateLimited),
        (404, {}, NotFound),
        (422, {}, ValidationFailed),
        (400, {}, ValidationFailed),
        (429, {}, RateLimited),
        (500, {}, ServerError),
        (502, {}, ServerError),
        (418, {}, ProviderError),
    ],
)
def test_status_maps_to_the_taxonomy(status: int, headers: dict[str, str], kind: type) -> None:
    error = error_for_response("GitHub", "GET", "/repos/a/b", status, headers, now=NOW)
    assert type(error) is kind
    assert str(error).startswith(f"GitHub: GET /repos/a/b answered {status}")


@pytest.mark.parametrize(
    ("headers", "retry_at"),
    [
        ({"retry-after": "2"}, NOW + 2),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, 1792567680.0),
        ({"x-ratelimit-reset": "1800000030"}, 1800000030.0),
        ({"ratelimit-reset": "1800000045"}, 1800000045.0),
        ({"retry-after": "5", "x-ratelimit-reset": "1800000030"}, NOW + 5),
        ({}, NOW + 60),
    ],
)
def test_when_to_retry_a_rate_limit(headers: dict[str, str], retry_at: float) -> None:
    error = error_for_response("GitLab", "POST", "/x", 429, headers, now=NOW)
    assert isinstance(error, RateLimited)
    assert error.retry_at == retry_at
    assert error.retryable


class Script:
    """A call that fails with the given errors, then answers."""

    def __init__(self, *errors: ProviderError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


async def test_429_with_retry_after_waits_that_long() -> None:
    clock = FakeClock(NOW)
    call = Script(error_for_response("GitHub", "GET", "/x", 429, {"retry-after": "2"}, now=NOW))
    assert await with_retries(clock.policy(), call) == "answer"
    assert clock.sleeps == [pytest.approx(2.0)]


async def test_403_rate_limit_waits_until_the_reset() -> None:
    clock = FakeClock(NOW)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}
    call = Script(error_for_response("GitHub", "GET", "/x", 403, headers, now=NOW))
    assert await with_retries(clock.policy(), call) == "answer"
    assert clock.sleeps == [pytest.approx(30.0)]


@pytest.mark.parametrize("status", [401, 403, 404, 422])
async def test_client_errors_are_not_retried(status: int) -> None:
    clock = FakeClock(NOW)
    call = Script(error_for_response("Gitea", "GET", "/x", status, {}, now=NOW))
    with pytest.raises(ProviderError):
        await with_retries(clock.policy(), call)
    assert call.calls == 1
    assert clock.sleeps == []


async def test_server_and_transport_errors_back_off_exponentially_then_give_up() -> None:
    clock = FakeClock(NOW)
    errors = [ServerError("GitHub", "GET", "/x", 502), TransportError("GitHub", "GET", "/x")] * 3
    call = Script(*errors)
    with pytest.raises(ServerError):
        await with_retries(clock.policy(attempts=5, base_delay=1.0, max_delay=4.0), call)
    assert call.calls == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 4.0]


def test_jitter_keeps_backoff_between_half_and_full() -> None:
    error = ServerError("GitHub", "GET", "/x", 500)
    low = RetryPolicy(jitter=lambda: 0.0, base_delay=2.0).delay(error, 1)
    high = RetryPolicy(jitter=lambda: 1.0, base_delay=2.0).delay(error, 1)
    assert (low, high) == (1.0, 2.0)


async def test_a_reset_too_far_away_is_not_waited_for() -> None:
    clock = FakeClock(NOW)
    error = error_for_response("GitHub", "GET", "/x", 429, {"retry-after": "3600"}, now=NOW)
    call = Script(error)
    with pytest.raises(RateLimited):
        await with_retries(clock.policy(max_rate_limit_wait=900), call)
    assert clock.sleeps == []


async def test_a_post_is_not_retried_after_a_server_error_but_is_after_a_rate_limit() -> None:
    clock = FakeClock(NOW)
    failed_post = Script(ServerError("GitHub", "POST", "/repos/a/b/issues/1/comments", 502))
    with pytest.raises(ServerError):
        await with_retries(clock.policy(), failed_post)
    assert failed_post.calls == 1
    limited = error_for_response("GitHub", "POST", "/x", 429, {"retry-after": "1"}, now=NOW)
    limited_post = Script(limited)
    assert await with_retries(clock.policy(), limited_post) == "answer"
    assert limited_post.calls == 2
    lenient = Script(TransportError("GitHub", "POST", "/x"))
    assert await with_retries(clock.policy(retry_posts=True), lenient) == "answer"
