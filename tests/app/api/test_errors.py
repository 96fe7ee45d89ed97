"""Bad requests get the API's error shape and the right status — malformed JSON 400, a body
that does not fit 422 naming the field, over 1 MB 413, unknown paths 404, wrong methods 405,
a failure inside 500 without a traceback — and none of it reaches the rest of the app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from app.releases import store
from app.settings import Settings
from tests.support.api import bearer, make_token, release_body

MB = 1024 * 1024


@pytest.fixture
async def admin(api_settings: Settings) -> dict[str, str]:
    return bearer(await make_token(api_settings, "root", "admin"))


def _error(answer: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    return dict(body["error"])


async def test_malformed_json_is_400(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for raw in (b'{"name": ', b"\xff\xfe", b""):
        answer = await api.post("/api/v1/releases", content=raw, headers=admin)
        _error(answer, 400, "invalid_json")


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({**release_body(), "sourceRef": None}, ["body.sourceRef"]),
        ({"name": "x"}, ["body.sourceRef"]),
        (
            release_body(components=[{"componentId": "web", "digest": "sha256:abc"}]),
            ["body.components[0].digest"],
        ),
        ({**release_body(), "extra": 1}, ["body.extra"]),
        ([1, 2], ["body"]),
        (
            {**release_body(), "metadata": {"testResults": {"passed": -1}}},
            ["body.metadata.testResults.passed"],
        ),
    ],
)
async def test_a_body_that_does_not_fit_is_422_naming_the_field(
    api: httpx.AsyncClient, admin: dict[str, str], body: object, paths: list[str]
) -> None:
    answer = await api.post("/api/v1/releases", json=body, headers=admin)
    error = _error(answer, 422, "invalid")
    assert [field["path"] for field in error["fields"]] == paths  # type: ignore[attr-defined]
    assert paths[0] in str(error["message"])


async def test_a_bad_query_is_422(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for query, path in [
        ("limit=0", "query.limit"),
        ("limit=ten", "query.limit"),
        ("cursor=-1", "query.cursor"),
        ("limit=1&limit=2", "query.limit"),
        ("color=blue", "query.color"),
    ]:
        answer = await api.get(f"/api/v1/releases?{query}", headers=admin)
        error = _error(answer, 422, "invalid")
        assert error["fields"][0]["path"] == path  # type: ignore[index]


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 65536 + 1):
        yield b" " * 65536


async def test_a_body_over_1_mb_is_413(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    declared = await api.post("/api/v1/releases", content=b" " * (MB + 1), headers=admin)
    _error(declared, 413, "too_large")
    streamed = await api.post("/api/v1/releases", content=_chunks(MB), headers=admin)
    assert "content-length" not in streamed.request.headers
    _error(streamed, 413, "too_large")
    just_fits = await api.post("/api/v1/releases", content=b" " * MB, headers=admin)
    _error(just_fits, 400, "invalid_json")  # read whole: it is not JSON


async def test_unknown_paths_and_methods(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _error(await api.get("/api/v1/nothing-here", headers=admin), 404, "not_found")
    _error(await api.get("/api/v1/releases/abc", headers=admin), 404, "not_found")
    _error(await api.get("/api/v1/releases/0", headers=admin), 404, "not_found")
    wrong = await api.delete("/api/v1/releases", headers=admin)
    _error(wrong, 405, "method_not_allowed")
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


async def test_a_failure_inside_is_500_without_a_traceback(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("the database fell over at line 12")

    monkeypatch.setattr(store, "get_release", broken)
    caplog.set_level(logging.ERROR)
    answer = await api.get("/api/v1/releases/7", headers=admin)
    error = _error(answer, 500, "internal")
    assert "fell over" not in answer.text
    assert "Traceback" not in answer.text
    assert error["message"] == "internal error; it has been logged"
    assert "RuntimeError" in caplog.text


async def test_the_api_door_is_only_the_apis(api: httpx.AsyncClient) -> None:
    page = await api.get("/no-such-page")
    assert page.status_code == 404
    assert "success" not in page.text
    hook = await api.post(
        "/webhooks/github",
        content=b"{" + b" " * (2 * MB) + b"}",
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "big-1"},
    )
    assert hook.status_code != 413  # the webhooks' own limit is larger
    assert "success" not in hook.text
