"""The sign-in's two calls against each host's endpoints (respx): what is sent, what is read."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.auth.hosts import configured_hosts
from app.auth.oauth import SignInFailed, signed_in_login
from tests.support.oauth import ENDPOINTS, SIGN_IN, fake_oauth
from tests.support.settings import make_settings

HOSTS = configured_hosts(make_settings("sqlite:///x.db", **SIGN_IN))
REDIRECT = "https://shipyard.example.com/auth/x/callback"


@pytest.mark.parametrize("name", ["github", "gitlab", "gitea"])
async def test_the_code_and_verifier_buy_a_token_that_names_the_user(name: str) -> None:
    host = HOSTS[name]
    with fake_oauth(name, "octocat") as fake:
        async with httpx.AsyncClient() as http:
            login = await signed_in_login(
                http, host, code=fake.code, verifier="the-verifier", redirect_uri=REDIRECT
            )
    assert login == "octocat"
    [form] = fake.token_requests
    assert form == {
        "grant_type": ["authorization_code"],
        "code": ["the-code"],
        "redirect_uri": [REDIRECT],
        "client_id": [host.client_id],
        "client_secret": [host.client_secret],
        "code_verifier": ["the-verifier"],
    }
    [user] = fake.user_requests
    assert user.headers["authorization"] == f"Bearer {fake.token}"
    assert user.headers["accept"] == "application/json"


async def test_githubs_200_with_an_error_is_a_refusal() -> None:
    with respx.mock:
        respx.post(ENDPOINTS["github"][1]).respond(
            200, json={"error": "bad_verification_code", "error_description": "expired"}
        )
        async with httpx.AsyncClient() as http:
            with pytest.raises(SignInFailed, match="bad_verification_code; expired"):
                await signed_in_login(
                    http, HOSTS["github"], code="old", verifier="v", redirect_uri=REDIRECT
                )


@pytest.mark.parametrize(
    ("token_answer", "user_answer", "message"),
    [
        (httpx.Response(401, json={"error": "invalid_client"}), None, "answered 401"),
        (httpx.Response(502, text="<html>bad gateway"), None, "HTTP 502"),
        (httpx.ConnectError("refused"), None, "could not reach GitLab"),
        (
            httpx.Response(200, json={"access_token": "t"}),
            httpx.Response(200, json={"name": "no username"}),
            "has no username",
        ),
        (
            httpx.Response(200, json={"access_token": "t"}),
            httpx.Response(401, json={"message": "401 Unauthorized"}),
            "401 Unauthorized",
        ),
    ],
)
async def test_failures_say_what_the_host_answered(
    token_answer: httpx.Response | Exception, user_answer: httpx.Response | None, message: str
) -> None:
    _, token_url, user_url, _ = ENDPOINTS["gitlab"]
    with respx.mock:
        respx.post(token_url).mock(side_effect=[token_answer])
        if user_answer is not None:
            respx.get(user_url).mock(return_value=user_answer)
        async with httpx.AsyncClient() as http:
            with pytest.raises(SignInFailed, match=message) as raised:
                await signed_in_login(
                    http, HOSTS["gitlab"], code="c", verifier="v", redirect_uri=REDIRECT
                )
    assert "gl-client-secret" not in str(raised.value)
