"""The one door between Shipyard and GitHub: gidgethub over httpx, under auth and retries."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from gidgethub.httpx import GitHubAPI

from providers.boundary import Boundary
from providers.errors import AuthenticationFailed
from providers.github.auth import Credentials
from providers.mask import Mask
from providers.retry import RetryPolicy

__all__ = ["ACCEPT", "API_VERSION", "DIFF", "USER_AGENT", "ShipyardGitHubAPI"]

ACCEPT = "application/vnd.github+json"
DIFF = "application/vnd.github.diff"
API_VERSION = "2022-11-28"
USER_AGENT = "shipyard"


class ShipyardGitHubAPI(GitHubAPI):
    """gidgethub over httpx, every call of which passes through `_request`.

    gidgethub's own `_request` (`gidgethub.httpx`) is the wire: one attempt, the answer as it
    came. The override adds the authorization and API version headers and runs that attempt
    through the shared `Boundary` (retries, the error taxonomy, masked details), so gidgethub
    only ever sees successes.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        credentials: Credentials,
        retry: RetryPolicy,
        mask: Mask,
    ) -> None:
        super().__init__(client, USER_AGENT, base_url=base_url)
        self.host = f"GitHub ({urlsplit(base_url).netloc})"
        self._credentials = credentials
        self._mask = mask
        self._signing: Counter[str] = Counter()  # App JWTs in flight here, masked meanwhile
        self._boundary = Boundary(
            self.host,
            retry,
            mask,
            read_detail=_error_detail,
            transport_errors=(httpx.RequestError,),
        )

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        sent = dict(headers)
        sent["x-github-api-version"] = API_VERSION
        if "authorization" not in sent:  # the token request brings its own (the App's JWT)
            sent["authorization"] = await self._credentials.authorization(self.request_token)
        try:
            return await self._boundary.call(super()._request, method, url, sent, body)
        except AuthenticationFailed:
            self._credentials.forget()
            raise

    async def request_token(
        self, path: str, app_jwt: str, body: Mapping[str, Any] | None = None, /
    ) -> Mapping[str, Any]:
        """POST an installation-token request signed with the App's JWT (through `_request`),
        with `body` (a scope) as JSON, or no body at all."""
        with self._signed_with(app_jwt):
            data: Any = dict(body) if body else b""
            answer = await self.post(path, data=data, jwt=app_jwt, accept=ACCEPT)
        return answer if isinstance(answer, Mapping) else {}

    async def get_as_app(self, path: str, app_jwt: str) -> Any:
        """GET what only the App itself may read (`/app`), signed with its JWT."""
        with self._signed_with(app_jwt):
            return await self.getitem(path, jwt=app_jwt, accept=ACCEPT)

    @contextmanager
    def _signed_with(self, app_jwt: str) -> Iterator[None]:
        """The JWT is a credential for its ten minutes: the mask learns it before it is sent,
        and forgets it once no request in flight carries it (its errors were masked)."""
        self._signing[app_jwt] += 1
        self._mask.add(app_jwt)
        try:
            yield
        finally:
            self._signing[app_jwt] -= 1
            if not self._signing[app_jwt]:
                del self._signing[app_jwt]
                self._mask.forget(app_jwt)


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
    return message
