"""What the GitLab client's tests share: the instance, a token, and the check of a sent call."""

from __future__ import annotations

import json
from typing import Any

import responses

TOKEN = "glpat-Zx9Secret-Tok3n"
BASE = "https://gitlab.example.com"


def sent(api: responses.RequestsMock, index: int, method: str, url: str, body: Any = None) -> None:
    """Call `index` was `method url` (path and query exact), authenticated, with JSON `body`."""
    request = api.calls[index].request
    assert (request.method, request.url) == (method, url)
    assert request.headers["PRIVATE-TOKEN"] == TOKEN
    if body is None:
        assert not request.body
    else:
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(request.body or b"") == body
