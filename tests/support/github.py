"""What the GitHub client's tests share: the mocked API's address, a token, request checks."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.samples import load_sample

API = "https://api.github.com"
TOKEN = "ghp_S3cr3tT0kenNeverToBeSeen0123456789"
R = "/repos/octo-org/shipyard-demo"
NOW = 1_772_445_600.0  # 2026-03-02T10:00:00Z: the fake clock's start
NO_BODY = object()


def sample(name: str) -> Any:
    """tests/samples/github_api/<name>.json: an answer as GitHub gives it."""
    return load_sample("github_api", name)


def assert_request(
    request: httpx.Request,
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: Any = NO_BODY,
    *,
    token: str = TOKEN,
) -> None:
    """Method, exact (encoded) path, query, GitHub's headers, and the exact JSON body."""
    raw_path, _, _ = request.url.raw_path.decode().partition("?")
    assert request.method == method
    assert raw_path == path
    assert dict(request.url.params) == (query or {})
    assert request.headers["authorization"] == f"Bearer {token}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == "shipyard"
    if body is NO_BODY:
        assert request.content == b""
    else:
        assert request.headers["content-type"].startswith("application/json")
        assert json.loads(request.content) == body
