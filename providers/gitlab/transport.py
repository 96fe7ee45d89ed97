"""The one door between Shipyard and a GitLab server: python-gitlab in a thread, under retries."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import gitlab
import requests
from gitlab.exceptions import GitlabError, RedirectError
from requests.utils import parse_header_links

from providers.boundary import Boundary, RawAnswer
from providers.errors import ProviderError
from providers.mask import Mask
from providers.retry import RetryPolicy

__all__ = ["Answer", "GitLabTransport"]

_JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    """A successful answer, its JSON body parsed."""

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

    python-gitlab raises `GitlabHttpError(response_code, error_message, response_body)` for
    an answer that is not 2xx and drops the response, so a 429's `Retry-After` /
    `RateLimit-Reset` headers would be lost. The hook keeps the response per thread; the
    thread that ran the call reads it back.
    """

    response: requests.Response | None = None

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.response = response


class GitLabTransport:
    """GitLab's REST API at /api/v4 with a token: every request of the client passes here.

    `_request` is the network boundary: one python-gitlab `http_request`, in a worker thread,
    whose answer comes back as it came, whatever its status. python-gitlab's own retries are
    off (`retry_transient_errors=False`, `obey_rate_limit=False`, `max_retries=0`), so the
    `RetryPolicy` of the shared `Boundary` alone decides what is retried and how long to wait.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        mask: Mask,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.host = urlsplit(self.url).netloc or self.url
        self._token = token
        self._mask = mask
        mask.add(token)
        self._boundary = Boundary(
            self.host,
            retry or RetryPolicy(),
            mask,
            read_detail=_error_detail,
            transport_errors=(requests.RequestException,),
        )
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
        url = f"{self._gl.api_url}{path}" + (f"?{urlencode(query)}" if query else "")
        content = json.dumps(dict(body), allow_nan=False).encode() if body is not None else b""
        headers = {"Content-Type": _JSON} if body is not None else {}
        try:
            status, answer_headers, answered = await self._boundary.call(
                self._request, method, url, headers, content, where=path
            )
        except RedirectError:
            # requests turns a redirected POST into a GET; python-gitlab refuses the result.
            detail = "redirected; set GITLAB_URL to the final https:// address"
            raise self._error(method, path, None, detail) from None
        except GitlabError as error:  # python-gitlab refused without an answer
            raise self._error(method, path, None, str(error)) from None
        try:
            return _answer(answer_headers, answered)
        except ValueError:
            raise self._error(method, path, status, "answered invalid JSON") from None

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> RawAnswer:
        """One attempt: python-gitlab's `http_request` in a worker thread, the answer as is."""
        return await asyncio.to_thread(self._send, method, url, headers, body)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._gl.session.close)

    def basic_credentials(self) -> str:
        """`oauth2:<token>` base64-encoded, for git over HTTPS (GitLab's documented user name)."""
        basic = base64.b64encode(f"oauth2:{self._token}".encode()).decode()
        self._mask.add(basic)  # the token in another spelling
        return basic

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> RawAnswer:
        """Runs in a worker thread. Exceptions of requests travel on as they are: the boundary
        keeps only their name and message (they carry the request, and with it the token)."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        # python-gitlab sets "Content-type" itself (octet-stream for raw bytes): override it.
        extra = {
            ("Content-type" if name.lower() == "content-type" else name): value
            for name, value in headers.items()
        }
        self._last.response = None
        try:
            response = self._gl.http_request(
                method.lower(),
                urlunsplit(parts._replace(query="")),
                query_data=query,
                post_data=body or None,
                raw=True,
                extra_headers=extra,
                obey_rate_limit=False,
                retry_transient_errors=False,
                max_retries=0,
            )
        except GitlabError as exc:
            if exc.response_code is None:
                raise
            answered = self._last.response
            # `is not None`, not truthiness: a requests.Response is falsy when it is an error.
            answer_headers: dict[str, str] = {}
            if answered is not None:
                answer_headers = _lower_headers(answered)
            return int(exc.response_code), answer_headers, exc.response_body or b""
        finally:
            self._last.response = None
        return response.status_code, _lower_headers(response), response.content

    def _error(self, method: str, path: str, status: int | None, detail: str) -> ProviderError:
        return ProviderError(self.host, method, path, status, self._boundary.masked(detail))


def _answer(headers: Mapping[str, str], content: bytes) -> Answer:
    """The answer with its JSON parsed (raises ValueError for a broken JSON body)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    is_json = lowered.get("content-type", "").split(";")[0].strip() == _JSON
    data = json.loads(content) if is_json and content else None
    return Answer(data=data, content=content, headers=lowered)


def _lower_headers(response: requests.Response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


def _error_detail(content: bytes) -> str:
    """GitLab's `message` (or `error`) as python-gitlab reads it, else the body, on one line."""
    message: Any = content.decode("utf-8", "replace")
    try:
        data = json.loads(content)
        for key in ("message", "error"):
            if key in data:
                message = data[key]
    except (KeyError, ValueError, TypeError):
        pass
    return " ".join(str(message).split())
