"""The network boundary every host transport shares: one attempt's answer into the taxonomy.

Each transport implements one method in gidgethub's shape, `_request(method, url, headers,
body) -> (status, headers, body)`: one attempt on the wire, any HTTP answer returned as it
came, a failure to get one raised as the transport's own exception. `Boundary` runs it under
the retry policy and turns what is not a 2xx answer into the error taxonomy, every detail
passed through the mask first (a host may echo a credential back).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from providers.errors import TransportError, error_for_response
from providers.http import OBSERVER
from providers.mask import Mask
from providers.retry import RetryPolicy, with_retries

__all__ = ["DETAIL_LIMIT", "Boundary", "RawAnswer", "Request"]

# (status, headers, body): an answer as it came off the wire.
RawAnswer = tuple[int, Mapping[str, str], bytes]
# (method, url, headers, body) -> one attempt's answer: gidgethub's `_request`.
Request = Callable[[str, str, Mapping[str, str], bytes], Awaitable[RawAnswer]]

DETAIL_LIMIT = 300  # characters of a host's message kept in an error


@dataclass(frozen=True)
class Boundary:
    """One host's `_request` under retries, with errors in the taxonomy and details masked.

    `read_detail` finds the host's own message in an error answer's body; `transport_errors`
    are the exceptions that mean no answer came (timeouts, refused connections, broken TLS).
    """

    host: str
    retry: RetryPolicy
    mask: Mask
    read_detail: Callable[[bytes], str]
    transport_errors: tuple[type[Exception], ...]

    async def call(
        self,
        request: Request,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        where: str | None = None,
    ) -> RawAnswer:
        """A 2xx answer, retried as the policy says; else the taxonomy's error.

        Errors name `where` (default: the URL's path) and never the query.
        """

        async def attempt() -> RawAnswer:
            return await self.attempt(request, method, url, headers, body, where=where)

        return await with_retries(self.retry, attempt)

    async def attempt(
        self,
        request: Request,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        where: str | None = None,
    ) -> RawAnswer:
        """One attempt: the 2xx answer, or the error for what came back (or did not)."""
        path = urlsplit(url).path if where is None else where
        try:
            status, answer_headers, content = await request(method, url, headers, body)
        except self.transport_errors as error:
            OBSERVER.answered(self.host, None)
            # `from None`: the failure carries the request, and with it the credential.
            detail = self.masked(f"{type(error).__name__}: {error}")
            raise TransportError(self.host, method, path, detail=detail) from None
        OBSERVER.answered(self.host, status)
        if 200 <= status < 300:
            return status, answer_headers, content
        lowered = {name.lower(): value for name, value in answer_headers.items()}
        detail = self.masked(self.read_detail(content))
        now = self.retry.clock()
        raise error_for_response(self.host, method, path, status, lowered, detail, now=now)

    def masked(self, text: str) -> str:
        """What of `text` may go into an error: every known secret hidden, then cut short."""
        return self.mask(text)[:DETAIL_LIMIT]
