"""The Gitea / Forgejo client's errors, retries and rate limits, its secrets, and its config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from app.secrets.masker import Masker
from providers.errors import (
    AuthenticationFailed,
    Forbidden,
    NotFound,
    ProviderError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from providers.gitea import GiteaClient, GiteaConfig, client_for, forgejo_client_for
from tests.support.clock import FakeClock
from tests.support.gitea import API, REPO, TOKEN, WEB, R, sample

# Errors, retries and rate limits


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ValidationFailed),
        (401, AuthenticationFailed),
        (403, Forbidden),
        (404, NotFound),
        (422, ValidationFailed),
    ],
)
async def test_client_errors_map_to_the_taxonomy_and_are_not_retried(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock, status: int, error: type
) -> None:
    route = api.get(R).respond(status, json={"message": "refused", "url": f"{WEB}/api/swagger"})

    with pytest.raises(error) as raised:
        await client.default_branch(REPO)

    assert type(raised.value) is error
    assert route.call_count == 1
    assert clock.sleeps == []
    message = str(raised.value)
    assert "gitea.example.com" in message
    assert f"GET /api/v1{R}" in message
    assert f"answered {status}: refused" in message


async def test_server_errors_are_retried_up_to_the_policy_then_raised(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(R).respond(500, text="Internal Server Error")

    with pytest.raises(ServerError, match="answered 500: Internal Server Error"):
        await client.default_branch(REPO)

    assert route.call_count == 3
    assert clock.sleeps == [0.5, 1.0]  # backoff with jitter pinned to its maximum


async def test_a_server_error_then_success_succeeds(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    route = api.get(R)
    route.side_effect = [httpx.Response(502), httpx.Response(200, json=sample("repository"))]

    assert await client.default_branch(REPO) == "trunk"
    assert route.call_count == 2


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("Connection refused"), httpx.ReadTimeout("timed out")],
)
async def test_transport_failures_are_retried_then_raised_as_transport_errors(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock, failure: Exception
) -> None:
    route = api.get(R).mock(side_effect=failure)

    with pytest.raises(TransportError) as raised:
        await client.default_branch(REPO)

    assert route.call_count == 3
    assert len(clock.sleeps) == 2
    assert raised.value.status is None
    assert f"gitea.example.com: GET /api/v1{R}" in str(raised.value)


async def test_429_waits_for_retry_after_then_succeeds(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(R)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "2"}, json={"message": "slow down"}),
        httpx.Response(200, json=sample("repository")),
    ]

    assert await client.default_branch(REPO) == "trunk"

    assert route.call_count == 2
    assert clock.sleeps == [pytest.approx(2.0)]


async def test_403_with_an_exhausted_rate_limit_waits_for_the_reset(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    reset = str(int(clock.now + 30))
    route = api.get(R)
    route.side_effect = [
        httpx.Response(
            403,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
            json={"message": "API rate limit exceeded"},
        ),
        httpx.Response(200, json=sample("repository")),
    ]

    assert await client.default_branch(REPO) == "trunk"

    assert route.call_count == 2
    assert clock.sleeps == [pytest.approx(30.0)]


async def test_a_rate_limit_that_never_lifts_is_raised_as_rate_limited(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(R).respond(429, headers={"Retry-After": "1"})

    with pytest.raises(RateLimited):
        await client.default_branch(REPO)

    assert route.call_count == 3
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(1.0)]


async def test_a_404_is_not_retried(
    client: GiteaClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(f"{R}/pulls/99").respond(404, json={"message": "pull request does not exist"})

    with pytest.raises(NotFound):
        await client.get_pull_request(REPO, 99)

    assert route.call_count == 1
    assert clock.sleeps == []


async def test_an_answer_that_is_not_json_is_a_provider_error(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.get(R).respond(200, text="<html>Sign in</html>")

    with pytest.raises(ProviderError, match="not JSON"):
        await client.default_branch(REPO)


# Secrets, construction


async def test_repr_names_the_server_and_never_the_token(client: GiteaClient) -> None:
    assert repr(client) == f"GiteaClient(name='gitea', url='{WEB}')"
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)


async def test_errors_never_carry_the_token_even_when_the_host_echoes_it(
    client: GiteaClient, api: respx.MockRouter
) -> None:
    api.get(R).respond(401, json={"message": f"token is invalid: {TOKEN}"})
    api.get(f"{R}/pulls/1").mock(side_effect=httpx.ConnectError(f"refused {TOKEN}"))

    with pytest.raises(AuthenticationFailed) as auth:
        await client.default_branch(REPO)
    with pytest.raises(TransportError) as transport:
        await client.get_pull_request(REPO, 1)

    for error in (auth.value, transport.value):
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
        assert TOKEN not in error.detail
    assert "token is invalid: ***" in str(auth.value)


@pytest.mark.parametrize(
    "config",
    [
        GiteaConfig(),
        GiteaConfig(url=WEB),
        GiteaConfig(token=TOKEN),
        GiteaConfig(url=WEB, token=""),
    ],
)
def test_client_for_needs_url_and_token(config: GiteaConfig) -> None:
    assert client_for(config, Masker()) is None
    assert forgejo_client_for(config, Masker()) is None


@pytest.mark.parametrize(("make", "name"), [(client_for, "gitea"), (forgejo_client_for, "forgejo")])
async def test_client_for_builds_the_client_for_gitea_and_forgejo(
    make: Callable[..., Any], name: str
) -> None:
    client = make(GiteaConfig(url=f"{WEB}/api/v1/", token=TOKEN), Masker(), installation_id=None)

    assert isinstance(client, GiteaClient)
    assert client.name == name
    assert repr(client) == f"GiteaClient(name={name!r}, url='{WEB}')"
    with respx.mock(base_url=API) as router:
        route = router.get(R).respond(200, json=sample("repository"))
        await client.default_branch(REPO)
    assert route.calls.last.request.headers["authorization"] == f"token {TOKEN}"
    await client.aclose()


async def test_a_server_under_a_sub_path(clock: FakeClock) -> None:
    client = GiteaClient("https://example.com/git", TOKEN, mask=Masker())
    with respx.mock() as router:
        route = router.get(f"https://example.com/git/api/v1{R}").respond(
            200, json=sample("repository")
        )
        assert await client.default_branch(REPO) == "trunk"
    assert route.call_count == 1
    await client.aclose()
