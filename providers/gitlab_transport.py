"""The one door between Shipyard and a GitLab server: python-gitlab in a thread, under retries."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import gitlab
import requests
from gitlab.exceptions import GitlabError, RedirectError
from requests.utils import parse_header_links

from providers.errors import ProviderError, TransportError, error_for_response
from providers.retry import RetryPolicy, with_retries

_DETAIL_LIMIT = 300


@dataclass(frozen=True)
class Answer:
    """A successful answer, read in the worker thread so the event loop never parses."""

    data: Any  # the JSON body, or None when the answer is not JSON (raw files)
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased

    def next_page(self) -> int | None:
        """The next page of a list: `x-next-page`, else the Link header's rel="next"."""
        if (value := self.headers.get("x-next-page")) is not None:
            return int(value) if value.strip().isdigit() else None
        for link in parse_header_links(self.headers.get("link", "")):
            if link.get("rel") == "next":
                page = parse_qs(urlsplit(link.get("url", "")).query).get("page", [""])[0]
                return int(page) if page.isdigit() else None
        return None


class _LastResponse(threading.local):
    """The last answer requests received in this thread (a response hook on the session).

    python-gitlab raises `GitlabHttpError(response_code, error_message, response_body)` and
    drops the response, so a 429's `Retry-After` / `RateLimit-Reset` headers would be lost.
    The hook keeps the response per thread; the thread that ran the call reads it back.
    """

    response: requests.Response | None = None

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.response = response


class GitLabTransport:
    """Runs one python-gitlab `http_request` per call, in a worker thread, under `with_retries`.

    python-gitlab's own retries are off (`retry_transient_errors=False`, `obey_rate_limit=False`,
    `max_retries=0`), so the `RetryPolicy` alone decides what is retried and how long to wait.
    """

    def __init__(
        self, url: str, token: str, *, retry: RetryPolicy | None = None, timeout: float = 30.0
    ) -> None:
        self.url = url.rstrip("/")
        self.host = urlsplit(self.url).netloc or self.url
        self._token = token
        self._retry = retry or RetryPolicy()
        self._gl = gitlab.Gitlab(
            self.url,
            private_token=token,
            timeout=timeout,
            retry_transient_errors=False,
            user_agent=f"shipyard python-gitlab/{gitlab.__version__}",
        )
        self._last = _LastResponse()
        self._gl.session.hooks["response"].append(self._last.record)

    def __repr__(self) -> str:
        return f"GitLabTransport(url={self.url!r})"

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Answer:
        """Send `method path` (path under /api/v4) and return the answer, or raise the taxonomy."""
        return await with_retries(
            self._retry, lambda: asyncio.to_thread(self._send, method, path, query, body)
        )

    async def aclose(self) -> None:
        await asyncio.to_thread(self._gl.session.close)

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> Answer:
        """Runs in a worker thread: the call, then the answer read while still off the loop."""
        response = self._call(method, path, query, body)
        try:
            return _answer(response)
        except ValueError:
            raise self._error(method, path, response.status_code, "answered invalid JSON") from None

    def _call(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> requests.Response:
        # Exceptions are re-raised `from None`: a requests exception carries the prepared
        # request, and with it the PRIVATE-TOKEN header; nothing that holds it may travel on.
        self._last.response = None
        try:
            return self._gl.http_request(
                method.lower(),
                path,
                query_data=dict(query or {}),
                post_data=dict(body) if body is not None else None,
                obey_rate_limit=False,
                retry_transient_errors=False,
                max_retries=0,
            )
        except RedirectError:
            raise self._error(
                method, path, None, "redirected; set GITLAB_URL to the final https:// address"
            ) from None
        except GitlabError as exc:
            if exc.response_code is None:
                raise self._error(method, path, None, str(exc)) from None
            raise self._answered(method, path, exc) from None
        except requests.RequestException as exc:
            detail = self._scrub(_describe(exc))
            raise TransportError(self.host, method, path, None, detail) from None
        finally:
            self._last.response = None

    def _answered(self, method: str, path: str, exc: GitlabError) -> ProviderError:
        response = self._last.response
        # `is not None`, not truthiness: a requests.Response is falsy when it is an error.
        headers = _lower_headers(response) if response is not None else {}
        status = int(exc.response_code or 0)
        detail = self._scrub(str(exc.error_message))
        return error_for_response(
            self.host, method, path, status, headers, detail, now=self._retry.clock()
        )

    def _error(self, method: str, path: str, status: int | None, detail: str) -> ProviderError:
        return ProviderError(self.host, method, path, status, self._scrub(detail))

    def basic_credentials(self) -> str:
        """`oauth2:<token>` base64-encoded, for git over HTTPS (GitLab's documented user name)."""
        return base64.b64encode(f"oauth2:{self._token}".encode()).decode()

    def _scrub(self, text: str) -> str:
        """A short detail for an error message, with the token masked should a host echo it."""
        masked = text.replace(self._token, "***") if self._token else text
        return " ".join(masked.split())[:_DETAIL_LIMIT]


def _answer(response: requests.Response) -> Answer:
    """The answer with its JSON parsed (raises ValueError for a broken JSON body)."""
    headers = _lower_headers(response)
    is_json = headers.get("content-type", "").split(";")[0].strip() == "application/json"
    data = json.loads(response.content) if is_json and response.content else None
    return Answer(data=data, content=response.content, headers=headers)


def _lower_headers(response: requests.Response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


def _describe(exc: requests.RequestException) -> str:
    """`ConnectTimeout: …`: the failure's name and message, not its request (it has the token)."""
    return f"{type(exc).__name__}: {exc}"
