"""`/api/v1/ci-events/build-complete`: a build is recorded once per build id; a successful one
on a branch a `releases.from: ci` rule names makes the release, its artifacts pinning the
components they built (the rest left to the release job at their tag)."""

from __future__ import annotations

from typing import Any

import httpx
import respx
from sqlmodel import select

from app.db.engine import create_engine, session_factory
from app.db.models.releases import CiBuild
from app.settings import Settings
from tests.support.api import (
    COMMIT,
    DIGEST_WEB,
    WEB_IMAGE,
    WORKER_IMAGE,
    creator_headers,
    declare_components,
    serve_config,
)

CONFIG = f"""
components:
  web: {{image: {WEB_IMAGE}}}
  worker: {{image: {WORKER_IMAGE}, tag: "main-{{{{ short_sha }}}}"}}
releases:
  from:
    - ci: {{status: [success], branches: [main]}}
"""


def _build(**changes: Any) -> dict[str, Any]:
    build: dict[str, Any] = {
        "integrationId": "jenkins-main",
        "buildId": "4711",
        "status": "success",
        "commit": COMMIT,
        "branch": "main",
        "repository": "git@github.com:acme/web.git",
        "buildUrl": "https://ci.example.com/job/web/4711/",
        "artifacts": [{"name": "web-image", "digest": DIGEST_WEB, "repository": WEB_IMAGE}],
        "testResults": {"passed": 120, "failed": 0, "skipped": 3},
    }
    build.update(changes)
    return build


async def _builds(settings: Settings) -> list[CiBuild]:
    engine = create_engine(settings)
    async with session_factory(engine)() as session:
        found = list((await session.exec(select(CiBuild))).all())
    await engine.dispose()
    return found


async def test_a_successful_build_makes_the_release_from_its_artifacts(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    headers = await creator_headers(api_settings)
    with respx.mock(assert_all_called=True) as host:
        _repo, config = serve_config(host, CONFIG)
        made = await api.post("/api/v1/ci-events/build-complete", json=_build(), headers=headers)
        again = await api.post("/api/v1/ci-events/build-complete", json=_build(), headers=headers)
    assert config.call_count == 1
    assert made.status_code == 201, made.text
    build = made.json()["data"]
    assert (build["buildId"], build["provider"], build["repository"]) == (
        "4711",
        "github",
        "acme/web",
    )
    release = build["release"]
    assert build["releaseId"] == release["id"]
    assert release["name"] == COMMIT[:12]
    assert release["source"]["commit"] == COMMIT
    assert release["source"]["branch"] == "main"
    assert release["source"]["url"] == f"https://github.com/acme/web/commit/{COMMIT}"
    assert release["components"] == [
        {"name": "web", "image": WEB_IMAGE, "digest": DIGEST_WEB, "tag": None},
        {"name": "worker", "image": WORKER_IMAGE, "digest": None, "tag": f"main-{COMMIT[:12]}"},
    ]
    assert release["metadata"] == {
        "buildId": "4711",
        "buildUrl": "https://ci.example.com/job/web/4711/",
        "triggeredBy": "jenkins-main",
        "testResults": {"passed": 120, "failed": 0, "skipped": 3},
    }
    assert again.status_code == 200
    assert again.json()["data"]["releaseId"] == release["id"]
    [recorded] = await _builds(api_settings)
    assert (recorded.status, recorded.release_id, recorded.reported_by) == (
        "success",
        release["id"],
        "ci",
    )
    assert recorded.test_results == {"passed": 120, "failed": 0, "skipped": 3}


async def test_the_same_build_id_with_other_content_is_409(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    headers = await creator_headers(api_settings)
    failed = _build(status="failure")
    first = await api.post("/api/v1/ci-events/build-complete", json=failed, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["data"]["status"] == "failed"
    assert first.json()["data"]["release"] is None
    assert first.json()["data"]["note"] == "a failed build makes no release"
    other = await api.post("/api/v1/ci-events/build-complete", json=_build(), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["differences"] == ["status is failed, not success"]


async def test_a_build_on_a_branch_no_rule_names_makes_no_release(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    headers = await creator_headers(api_settings)
    with respx.mock(assert_all_called=True) as host:
        serve_config(host, CONFIG)
        made = await api.post(
            "/api/v1/ci-events/build-complete", json=_build(branch="feature/x"), headers=headers
        )
    assert made.status_code == 201, made.text
    assert made.json()["data"]["release"] is None
    assert made.json()["data"]["note"] == (
        "no `releases.from: ci` rule matches a success build on feature/x"
    )
    assert [b.release_id for b in await _builds(api_settings)] == [None]


async def test_the_repository_is_found_from_the_artifacts_images(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    await declare_components(api_settings, "acme/web")
    await declare_components(
        api_settings, "acme/other", {"db": ("registry.example.com/acme/db", "x")}
    )
    headers = await creator_headers(api_settings)
    body = _build()
    del body["repository"]
    with respx.mock(assert_all_called=True) as host:
        serve_config(host, CONFIG)
        made = await api.post("/api/v1/ci-events/build-complete", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["data"]["repository"] == "acme/web"
    assert made.json()["data"]["release"]["components"][0]["digest"] == DIGEST_WEB

    unknown = {
        **body,
        "buildId": "4712",
        "artifacts": [
            {"name": "x", "digest": DIGEST_WEB, "repository": "registry.example.com/nobody/x"}
        ],
    }
    refused = await api.post("/api/v1/ci-events/build-complete", json=unknown, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["path"] == "body.repository"
    assert "no repository Shipyard knows declares the artifacts' images" in refused.text
