"""The one door between Shipyard and a Gitea or Forgejo server: httpx under retries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

import httpx

from providers.boundary import Boundary, RawAnswer
from providers.errors import ProviderError
from providers.http import tls_context
from providers.mask import Mask
from providers.retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "JSON",
    "PAGE_SIZE",
    "Answer",
    "GiteaTransport",
    "json_list",
    "json_of",
]

JSON = "application/json"
PAGE_SIZE = 50  # Gitea's default [api] MAX_RESPONSE_ITEMS
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True)
class Answer:
    """A 2xx answer, and the call it answers (to name it should the body not be JSON)."""

    status: int
    headers: Mapping[str, str]  # names lower-cased
    content: bytes
    host: str
    method: str
    path: str

    @property
    def text(self) -> str:
        """The body decoded with the charset the answer names (UTF-8 if none)."""
        message = Message()
        message["content-type"] = self.headers.get("content-type", "")
        charset = message.get_content_charset() or "utf-8"
        try:
            return self.content.decode(charset, "replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", "replace")


class GiteaTransport:
    """Gitea's REST API at /api/v1 with a token: every request of the client passes here.

    `_request` is the network boundary: one httpx request, the answer as it came. The shared
    `Boundary` runs it under the retry policy and raises the taxonomy for the rest.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        host: str,
        mask: Mask,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._api_url = api_url
        self._host = host
        mask.add(token)
        self._boundary = Boundary(
            host, retry, mask, read_detail=_error_detail, transport_errors=(httpx.TransportError,)
        )
        self._http = httpx.AsyncClient(
            verify=tls_context(),
            headers={"Authorization": f"token {token}", "User-Agent": "shipyard"},
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        accept: str = JSON,
    ) -> Answer:
        """One API call under retries; a 2xx answer, or the taxonomy's error for anything else."""
        url = httpx.URL(f"{self._api_url}{path}")
        if params:
            url = url.copy_merge_params(params)
        headers = {"Accept": accept}
        content = b""
        if body is not None:
            content = _json_bytes(body)
            headers["Content-Type"] = JSON
        where = f"/api/v1{path}"
        status, answer_headers, answered = await self._boundary.call(
            self._request, method, str(url), headers, content, where=where
        )
        lowered = {name.lower(): value for name, value in answer_headers.items()}
        return Answer(status, lowered, answered, self._host, method, where)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> RawAnswer:
        """One attempt on the wire: the answer as it came, whatever its status."""
        response = await self._http.request(method, url, headers=dict(headers), content=body)
        return response.status_code, response.headers, response.content

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return json_of(await self.request("GET", path, params=params))

    async def pages(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list (`page`/`limit`), until an empty page or X-Total-Count."""
        seen, page = 0, 1
        while True:
            answer = await self.request(
                "GET", path, params={**(params or {}), "page": page, "limit": PAGE_SIZE}
            )
            items = json_list(answer)
            for item in items:
                yield item
            seen += len(items)
            total = answer.headers.get("x-total-count", "")
            if not items or (total.isdigit() and seen >= int(total)):
                return
            page += 1


def json_of(answer: Answer) -> Any:
    try:
        return json.loads(answer.content)
    except ValueError as error:
        raise ProviderError(
            answer.host, answer.method, answer.path, answer.status, "the answer is not JSON"
        ) from error


def json_list(answer: Answer) -> list[dict[str, Any]]:
    data = json_of(answer)
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _json_bytes(body: Any) -> bytes:
    """`body` as JSON, encoded as httpx encodes `json=`."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _error_detail(content: bytes) -> str:
    """Gitea's APIError body is {message, url} (validation errors add `errors`)."""
    try:
        data = json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        errors = data.get("errors")
        if errors:
            message = f"{message} {errors}".strip()
        return message
    return str(data)
