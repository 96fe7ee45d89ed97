"""From a real registry's notification to a release: docker-registry POSTs its events to a real
uvicorn serving Shipyard; the push of `web:v1` makes acme/web's release, pinning the digest the
registry computed, and its other component is read from the same registry by its tag."""

from __future__ import annotations

import base64
from pathlib import Path

import respx
from sqlmodel import select

from app.db.engine import create_engine, session_factory
from app.db.models.releases import Release, ReleaseState
from app.main import create_app
from app.releases import images
from app.settings import Settings
from tests.support.api import declare_components
from tests.support.http import serving
from tests.support.registry import (
    WEBHOOK_TOKEN,
    Registry,
    notification_headers,
    own_registry,
    push_image,
)
from tests.support.settings import make_settings
from tests.support.waiting import until

API = "https://api.github.com/repos/acme/web"


def _config(registry: Registry) -> str:
    return (
        "components:\n"
        f"  web: {{image: {registry.host}/acme/web}}\n"
        f"  worker: {{image: {registry.host}/acme/worker}}\n"
        'releases:\n  from: [{registry: {component: web, tags: ["v*"]}}]\n'
    )


async def _releases(settings: Settings) -> list[Release]:
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            return list((await session.exec(select(Release))).all())
    finally:
        await engine.dispose()


async def test_a_real_registry_push_makes_the_release_with_its_digest(
    migrated: str, tmp_path: Path
) -> None:
    settings = make_settings(
        migrated,
        SHIPYARD_REGISTRY_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        GITHUB_TOKEN="ghp_registry_release",
        REDIS_URL="",
    )
    headers = {"Authorization": notification_headers()["authorization"]}
    with respx.mock(assert_all_called=False) as github:
        github.route(host="127.0.0.1").pass_through()  # the registry, and Shipyard itself
        async with serving(create_app(settings)) as url:
            with own_registry(
                tmp_path / "registry", notify_url=f"{url}/webhooks/registry", notify_headers=headers
            ) as registry:
                github.get(API).respond(200, json={"default_branch": "main"})
                content = base64.b64encode(_config(registry).encode()).decode()
                config = github.get(
                    f"{API}/contents/.shipyard.yml", params={"ref": "main"}
                ).respond(200, json={"type": "file", "encoding": "base64", "content": content})
                statuses = github.post(url__regex=rf"{API}/statuses/.*").respond(201, json={})
                images.forget_known()
                await declare_components(
                    settings,
                    components={
                        "web": (f"{registry.host}/acme/web", "{{ sha }}"),
                        "worker": (f"{registry.host}/acme/worker", "{{ sha }}"),
                    },
                )
                worker = await push_image(registry, "acme/worker", "v1")
                web = await push_image(registry, "acme/web", "v1")
                found = await until(
                    lambda: _releases(settings),
                    lambda rows: (
                        bool(rows)
                        and all(r.state != ReleaseState.RESOLVING and r.announced for r in rows)
                    ),
                )

    [release] = found
    assert release.state == ReleaseState.READY, release.error
    assert (release.provider, release.repository, release.name) == ("github", "acme/web", "v1")
    assert {c["name"]: c["digest"] for c in release.components} == {
        "web": web.digest,
        "worker": worker.digest,
    }
    assert release.created_by_kind == "delivery"
    assert config.called  # the config was read at the default branch
    assert not statuses.called  # a registry push names no commit to set a status on
