"""The two calls of a sign-in: trade the code for an access token, then ask the host whose it
is. The token lives only inside `signed_in_login`: it is not returned, stored or logged."""

from __future__ import annotations

from typing import Any

import httpx

from app.auth.hosts import OAuthHost

__all__ = ["SignInFailed", "signed_in_login"]


class SignInFailed(Exception):
    """The host did not tell us who signed in; the message says what it answered."""


async def signed_in_login(
    http: httpx.AsyncClient, host: OAuthHost, *, code: str, verifier: str, redirect_uri: str
) -> str:
    """The login of whoever the host gave `code` to."""
    token = await _access_token(http, host, code=code, verifier=verifier, redirect_uri=redirect_uri)
    user = await _call(
        http,
        host,
        "GET",
        host.user_url,
        headers={"Authorization": f"Bearer {token}"},
    )
    login = user.get(host.login_field)
    if not isinstance(login, str) or not login:
        raise SignInFailed(f"{host.display_name}'s user answer has no {host.login_field}")
    return login


async def _access_token(
    http: httpx.AsyncClient, host: OAuthHost, *, code: str, verifier: str, redirect_uri: str
) -> str:
    answer = await _call(
        http,
        host,
        "POST",
        host.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": host.client_id,
            "client_secret": host.client_secret,
            "code_verifier": verifier,
        },
    )
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        # GitHub answers 200 with {"error": "bad_verification_code", ...}
        raise SignInFailed(f"{host.display_name} refused the sign-in code: {_why(answer)}")
    return token


async def _call(
    http: httpx.AsyncClient,
    host: OAuthHost,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> dict[str, Any]:
    sent = {"Accept": "application/json", "User-Agent": "shipyard", **(headers or {})}
    try:
        response = await http.request(method, url, headers=sent, data=data)
    except httpx.HTTPError as error:
        raise SignInFailed(
            f"could not reach {host.display_name} at {url} ({type(error).__name__})"
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if response.is_error:
        detail = _why(answer) if answer else f"HTTP {response.status_code}"
        raise SignInFailed(f"{host.display_name} answered {response.status_code}: {detail}")
    if not answer:
        raise SignInFailed(f"{host.display_name} answered {method} {url} with no JSON object")
    return answer


def _why(answer: dict[str, Any]) -> str:
    parts = [answer.get("error"), answer.get("error_description"), answer.get("message")]
    return "; ".join(str(part) for part in parts if part) or "no reason given"
