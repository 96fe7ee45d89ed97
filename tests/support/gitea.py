"""What the Gitea client's tests share: the mocked server's address, a token, request checks."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import httpx

from providers.vocabulary import Repo
from tests.support.samples import load_sample

WEB = "https://gitea.example.com"
API = f"{WEB}/api/v1"
TOKEN = "gta_0123456789abcdef0123456789abcdef"
REPO = Repo("harbour/shipyard-demo")
R = "/repos/harbour/shipyard-demo"
NO_BODY = object()


def sample(name: str) -> Any:
    """tests/samples/gitea_api/<name>.json: an answer as Gitea gives it."""
    return load_sample("gitea_api", name)


def assert_request(
    request: httpx.Request,
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: Any = NO_BODY,
    accept: str = "application/json",
) -> None:
    """Method, exact (percent-encoded) path, exact query, auth, accept, and the JSON body."""
    assert request.method == method
    assert f"{request.url.scheme}://{request.url.host}" == WEB
    raw_path, _, raw_query = request.url.raw_path.decode().partition("?")
    assert raw_path == f"/api/v1{path}"
    assert sorted(parse_qsl(raw_query)) == sorted((query or {}).items())
    assert request.headers["authorization"] == f"token {TOKEN}"
    assert request.headers["accept"] == accept
    if body is NO_BODY:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == body
