"""`/api/v1/releases`: a release made from CI's body, read back, listed newest first a page at
a time; the same body again is the same release (200), other content under its name 409 saying
what differs; the repository and its components are checked against what Shipyard knows."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.releases.service import FINISH_RELEASE
from app.settings import Settings
from tests.support.api import (
    COMMIT,
    DIGEST_WEB,
    DIGEST_WORKER,
    WEB_IMAGE,
    bearer,
    creator_headers,
    declare_components,
    make_token,
    queued_jobs,
    release_body,
    serve_config,
)

CONFIG = f"""
components:
  web: {{image: {WEB_IMAGE}, tag: "build-{{{{ short_sha }}}}"}}
releases:
  name: "{{{{ repo.name }}}}-{{{{ version }}}}"
  from: [{{tag: ["v*"]}}]
"""


async def test_a_release_is_created_read_and_created_again_as_itself(
    api: httpx.AsyncClient, api_settings: Settings, redis_url: str
) -> None:
    await declare_components(api_settings)
    headers = await creator_headers(api_settings)

    created = await api.post("/api/v1/releases", json=release_body(), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["success"] is True
    release = created.json()["data"]
    assert release["name"] == "web-v1.2.0"
    assert release["version"] == "1.2.0"
    assert release["state"] == "ready"
    assert release["source"] == {
        "provider": "github",
        "repository": "acme/web",
        "commit": COMMIT,
        "tag": "v1.2.0",
        "branch": "main",
        "url": "https://github.com/acme/web/tree/v1.2.0",
    }
    assert release["components"] == [
        {"name": "web", "image": WEB_IMAGE, "digest": DIGEST_WEB, "tag": None},
        {
            "name": "worker",
            "image": "registry.example.com/acme/worker",
            "digest": DIGEST_WORKER,
            "tag": None,
        },
    ]
    assert release["metadata"] == {
        "buildId": "12345",
        "buildUrl": "https://ci.example.com/builds/12345",
        "triggeredBy": "ci-pipeline",
        "testResults": None,
    }
    assert release["createdBy"] == {"kind": "service_account", "name": "ci"}
    jobs = await queued_jobs(redis_url)
    assert [job.split(":")[1:3] for job in jobs] == [["release", str(release["id"])]]
    assert FINISH_RELEASE == "finish_release"

    fetched = await api.get(f"/api/v1/releases/{release['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == {"success": True, "data": release}

    again = await api.post("/api/v1/releases", json=release_body(), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["data"] == release
    assert len(await queued_jobs(redis_url)) == 1  # made once, finished once


async def test_other_content_under_the_name_is_409_saying_what_differs(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    await declare_components(api_settings)
    headers = await creator_headers(api_settings)
    first = await api.post("/api/v1/releases", json=release_body(), headers=headers)
    assert first.status_code == 201

    other = release_body()
    other["components"][0]["digest"] = "sha256:" + "ff" * 32
    refused = await api.post("/api/v1/releases", json=other, headers=headers)
    assert refused.status_code == 409
    error = refused.json()
    assert error["success"] is False
    assert error["error"]["code"] == "release_conflict"
    assert error["error"]["differences"] == [
        f"component 'web' digest is {DIGEST_WEB}, not sha256:{'ff' * 32}"
    ]


async def test_releases_are_listed_newest_first_a_page_at_a_time(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    await declare_components(api_settings, "acme/web")
    await declare_components(api_settings, "acme/api")
    headers = await creator_headers(api_settings)
    for number in range(5):
        body = release_body(f"v1.{number}")
        body["sourceRef"]["tag"] = f"v1.{number}"
        assert (await api.post("/api/v1/releases", json=body, headers=headers)).status_code == 201
    other = release_body("api-v1")
    other["sourceRef"]["repository"] = "https://github.com/acme/api.git"
    assert (await api.post("/api/v1/releases", json=other, headers=headers)).status_code == 201

    names: list[list[str]] = []
    cursor = None
    while True:
        params = {"repository": "https://github.com/acme/web", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        page = await api.get("/api/v1/releases", params=params, headers=headers)
        assert page.status_code == 200, page.text
        names.append([r["name"] for r in page.json()["data"]["items"]])
        cursor = page.json()["data"]["nextCursor"]
        if cursor is None:
            break
    assert names == [["v1.4", "v1.3"], ["v1.2", "v1.1"], ["v1.0"]]

    everything = await api.get("/api/v1/releases", headers=headers)
    assert [r["name"] for r in everything.json()["data"]["items"]][:2] == ["api-v1", "v1.4"]
    beyond = await api.get("/api/v1/releases?cursor=9999999999", headers=headers)  # > int32
    assert beyond.json()["data"] == everything.json()["data"]
    qualified = await api.get(
        "/api/v1/releases", params={"repository": "github:acme/api"}, headers=headers
    )
    assert [r["name"] for r in qualified.json()["data"]["items"]] == ["api-v1"]


async def test_a_repository_without_components_pins_the_commit(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    headers = await creator_headers(api_settings)
    with respx.mock(assert_all_called=True) as host:
        repo, config = serve_config(host, None)
        for name in ("v1", "v2"):
            body = release_body(name, components=[])
            made = await api.post("/api/v1/releases", json=body, headers=headers)
            assert made.status_code == 201, made.text
            assert made.json()["data"]["components"] == []
            assert made.json()["data"]["source"]["commit"] == COMMIT
        assert repo.call_count == 1
        assert config.call_count == 1  # read once, then remembered
        refused = await api.post("/api/v1/releases", json=release_body("v3"), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "unknown_component"
    assert refused.json()["error"]["fields"][0]["path"] == "body.components[0].componentId"
    assert "(its .shipyard.yml components: none are declared)" in refused.text


async def test_components_not_given_are_asked_of_the_registry_at_their_tag(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    """No name: the config is read for `releases.name`; `web` (not given) is left to the
    release job at its tag template, rendered for the commit."""
    headers = await creator_headers(api_settings)
    with respx.mock(assert_all_called=True) as host:
        serve_config(host, CONFIG)
        body = release_body(components=[])
        del body["name"]
        made = await api.post("/api/v1/releases", json=body, headers=headers)
    assert made.status_code == 201, made.text
    release = made.json()["data"]
    assert release["name"] == "web-1.2.0"
    assert release["state"] == "resolving"
    assert release["components"] == [
        {"name": "web", "image": WEB_IMAGE, "digest": None, "tag": f"build-{COMMIT[:12]}"}
    ]


@pytest.mark.parametrize(
    ("url", "status", "code", "says"),
    [
        ("https://bitbucket.org/acme/web", 422, "unknown_repository", "a host Shipyard does not"),
        ("https://github.com/acme", 422, "unknown_repository", "names no repository"),
        ("https://github.com/other/web", 403, "repository_not_allowed", "SHIPYARD_REPO_ALLOWLIST"),
        ("not a url", 422, "unknown_repository", "is not a repository URL"),
    ],
)
async def test_a_repository_shipyard_does_not_know_or_act_on_is_refused(
    api: httpx.AsyncClient, api_settings: Settings, url: str, status: int, code: str, says: str
) -> None:
    headers = bearer(await make_token(api_settings, "root", "admin"))
    body = release_body()
    body["sourceRef"]["repository"] = url
    refused = await api.post("/api/v1/releases", json=body, headers=headers)
    assert refused.status_code == status
    assert refused.json()["error"]["code"] == code
    assert says in refused.json()["error"]["message"]


async def test_an_unknown_release_is_404(api: httpx.AsyncClient, api_settings: Settings) -> None:
    headers = bearer(await make_token(api_settings, "root", "admin"))
    for path in ("/api/v1/releases/4040", "/api/v1/releases/99999999999999999999"):
        missing = await api.get(path, headers=headers)
        assert missing.status_code == 404
        assert missing.json()["success"] is False
        assert missing.json()["error"]["code"] == "not_found"
