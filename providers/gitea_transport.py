"""The one door between Shipyard and a Gitea or Forgejo server: httpx under retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from providers.errors import ProviderError, TransportError, error_for_response
from providers.http import tls_context
from providers.retry import RetryPolicy, with_retries

JSON = "application/json"
PAGE_SIZE = 50  # Gitea's default [api] MAX_RESPONSE_ITEMS
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_DETAIL_LIMIT = 300


class GiteaTransport:
    """Gitea's REST API at /api/v1 with a token: every request of the client passes here."""

    def __init__(
        self,
        api_url: str,
        token: SecretStr,
        *,
        host: str,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._host = host
        self._token = token
        self._retry = retry
        self._http = httpx.AsyncClient(
            verify=tls_context(),
            base_url=api_url,
            headers={
                "Authorization": f"token {token.get_secret_value()}",
                "User-Agent": "shipyard",
            },
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
    ) -> httpx.Response:
        """One API call under retries; a 2xx answer, or the taxonomy's error for anything else."""
        where = f"/api/v1{path}"

        async def attempt() -> httpx.Response:
            try:
                response = await self._http.request(
                    method, path, params=params, json=body, headers={"Accept": accept}
                )
            except httpx.TransportError as error:
                detail = self._scrub(f"{type(error).__name__}: {error}"[:_DETAIL_LIMIT])
                raise TransportError(self._host, method, where, detail=detail) from error
            if response.is_success:
                return response
            raise error_for_response(
                self._host,
                method,
                where,
                response.status_code,
                {name.lower(): value for name, value in response.headers.items()},
                self._scrub(_error_detail(response)),
                now=self._retry.clock(),
            )

        return await with_retries(self._retry, attempt)

    def _scrub(self, text: str) -> str:
        """Belt and braces: a host that echoes the token back must not put it in an error."""
        secret = self._token.get_secret_value()
        return text.replace(secret, "***") if secret else text

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return json_of(await self.request("GET", path, params=params))

    async def pages(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list (`page`/`limit`), until an empty page or X-Total-Count."""
        seen, page = 0, 1
        while True:
            response = await self.request(
                "GET", path, params={**(params or {}), "page": page, "limit": PAGE_SIZE}
            )
            items = json_list(response)
            for item in items:
                yield item
            seen += len(items)
            total = response.headers.get("x-total-count", "")
            if not items or (total.isdigit() and seen >= int(total)):
                return
            page += 1


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        request = response.request
        raise ProviderError(
            request.url.host,
            request.method,
            request.url.path,
            response.status_code,
            "the answer is not JSON",
        ) from error


def json_list(response: httpx.Response) -> list[dict[str, Any]]:
    data = json_of(response)
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _error_detail(response: httpx.Response) -> str:
    """Gitea's APIError body is {message, url} (validation errors add `errors`)."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:_DETAIL_LIMIT]
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        errors = data.get("errors")
        if errors:
            message = f"{message} {errors}".strip()
        return message[:_DETAIL_LIMIT]
    return str(data)[:_DETAIL_LIMIT]
