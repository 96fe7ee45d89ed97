"""The one door between Shipyard and GitHub: gidgethub over httpx, under auth and retries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from gidgethub.httpx import GitHubAPI

from providers.errors import AuthenticationFailed, TransportError, error_for_response
from providers.github_auth import Credentials
from providers.retry import RetryPolicy, with_retries

ACCEPT = "application/vnd.github+json"
DIFF = "application/vnd.github.diff"
API_VERSION = "2022-11-28"
USER_AGENT = "shipyard"


class ShipyardGitHubAPI(GitHubAPI):
    """gidgethub over httpx whose `_request` is the one network boundary of the client.

    Every call passes here: authorization, the API version header, retries, and the error
    taxonomy happen before gidgethub reads the answer, so gidgethub only sees successes.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        credentials: Credentials,
        retry: RetryPolicy,
    ) -> None:
        super().__init__(client, USER_AGENT, base_url=base_url)
        self.host = f"GitHub ({urlsplit(base_url).netloc})"
        self._credentials = credentials
        self._retry = retry

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        sent = dict(headers)
        sent["x-github-api-version"] = API_VERSION
        if "authorization" not in sent:  # the token request brings its own (the App's JWT)
            sent["authorization"] = await self._credentials.authorization(self.request_token)
        secret = sent["authorization"].partition(" ")[2]

        async def attempt() -> tuple[int, Mapping[str, str], bytes]:
            return await self._send_once(method, url, sent, body, secret)

        try:
            return await with_retries(self._retry, attempt)
        except AuthenticationFailed:
            self._credentials.forget()
            raise

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], body: bytes, secret: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        path = urlsplit(url).path
        try:
            status, answer_headers, content = await super()._request(method, url, headers, body)
        except httpx.RequestError as error:  # timeouts, refused connections, broken TLS
            detail = _scrub(f"{type(error).__name__}: {error}", secret)
            raise TransportError(self.host, method, path, detail=detail) from None
        if status >= 300:
            lowered = {name.lower(): value for name, value in answer_headers.items()}
            detail = _scrub(_error_detail(content), secret)
            now = self._retry.clock()
            raise error_for_response(self.host, method, path, status, lowered, detail, now=now)
        return status, answer_headers, content

    async def request_token(self, path: str, app_jwt: str) -> Mapping[str, Any]:
        """POST an installation-token request signed with the App's JWT (through `_request`)."""
        answer = await self.post(path, data=b"", jwt=app_jwt, accept=ACCEPT)
        return answer if isinstance(answer, Mapping) else {}


def _error_detail(content: bytes) -> str:
    """GitHub's own message, e.g. "Validation Failed: description is too long (...)"."""
    try:
        data = json.loads(content)
    except ValueError:
        return content[:200].decode("utf-8", "replace").strip()
    if not isinstance(data, dict):
        return ""
    message = str(data.get("message", ""))
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        parts = [
            str(e.get("message") or e.get("code")) if isinstance(e, dict) else str(e)
            for e in errors
        ]
        message = f"{message}: {'; '.join(parts)}"
    return message[:300]


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
