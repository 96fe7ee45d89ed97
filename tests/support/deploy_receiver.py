"""A deploy target's receiving end, served by a real uvicorn on loopback: it checks each request
as a receiver would (the X-Shipyard-Signature-256 HMAC of the body with the shared secret, or
the bearer token), refuses with 401 what fails the check, records everything it got, and
answers as the test scripted it."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.http import serving

__all__ = ["Answer", "Received", "Receiver", "receiving"]

_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a status, a JSON body (or text), headers."""

    status: int = 200
    json: Any = None
    text: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        if self.json is not None:
            return JSONResponse(self.json, self.status, dict(self.headers))
        return Response(self.text, self.status, dict(self.headers))


@dataclass(frozen=True)
class Received:
    """One request as it arrived; `headers` with lower-case names."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    signed: bool | None  # the signature checked out; None: the request carried none

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Scripted answers by (method, path), each list answered in turn, its last repeated; a
    request with no script gets 404. With `secret`, a request with a body must carry a valid
    signature; with `token`, every request must carry `Authorization: Bearer <token>`."""

    def __init__(self, *, secret: str | None = None, token: str | None = None) -> None:
        self.secret = secret
        self.token = token
        self.received: list[Received] = []
        self.base_url = ""
        self._answers: dict[tuple[str, str], list[Answer]] = {}
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=_METHODS)])

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def script(self, method: str, path: str, *answers: Answer) -> None:
        self._answers[(method, path)] = list(answers)

    def requests(self, method: str, path: str | None = None) -> list[Received]:
        return [r for r in self.received if r.method == method and (path is None or r.path == path)]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        signed = self._signed(request.headers.get("x-shipyard-signature-256"), body)
        self.received.append(
            Received(
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
                signed=signed,
            )
        )
        if self.secret is not None and request.method in _WITH_BODY and signed is not True:
            return JSONResponse({"error": "bad signature"}, 401)
        if self.token is not None and request.headers.get("authorization") != (
            f"Bearer {self.token}"
        ):
            return JSONResponse({"error": "bad token"}, 401)
        answers = self._answers.get((request.method, request.url.path))
        if not answers:
            return JSONResponse({"error": "no such thing"}, 404)
        return (answers.pop(0) if len(answers) > 1 else answers[0]).response()

    def _signed(self, header: str | None, body: bytes) -> bool | None:
        if header is None:
            return None
        if self.secret is None:
            return False
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(header, expected)


@contextlib.asynccontextmanager
async def receiving(
    *, secret: str | None = None, token: str | None = None
) -> AsyncIterator[Receiver]:
    """A Receiver behind a real uvicorn on loopback, its `base_url` set."""
    receiver = Receiver(secret=secret, token=token)
    async with serving(receiver.app) as base_url:
        receiver.base_url = base_url
        yield receiver
