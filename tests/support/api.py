"""What the REST API's tests share: service accounts made straight through app.accounts, their
bearer headers, the component index filled as a config read would, and what the queue holds."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import redis.asyncio as aioredis
import respx

from app.accounts import create_account
from app.db.engine import create_engine, session_factory
from app.releases import images
from app.releases.config import ComponentSpec
from app.settings import Settings
from tests.support.github import API, sample

DIGEST_WEB = "sha256:" + "a1" * 32
DIGEST_WORKER = "sha256:" + "b2" * 32
COMMIT = "0123456789abcdef0123456789abcdef01234567"
WEB_IMAGE = "registry.example.com/acme/web"
WORKER_IMAGE = "registry.example.com/acme/worker"


async def make_token(
    settings: Settings,
    name: str,
    *roles: str,
    repositories: Iterable[str] = (),
    permissions: Iterable[Mapping[str, object]] = (),
    expires_in: str | None = None,
) -> str:
    engine = create_engine(settings)
    try:
        _account, token = await create_account(
            session_factory(engine),
            name=name,
            roles=list(roles),
            permissions=list(permissions),
            repositories=list(repositories),
            expires_in=expires_in,
            created_by="test",
        )
    finally:
        await engine.dispose()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def declare_components(
    settings: Settings,
    repository: str = "acme/web",
    components: Mapping[str, tuple[str, str]] | None = None,
    *,
    provider: str = "github",
) -> None:
    """The index as reading `repository`'s config would leave it: name → (image, tag)."""
    if components is None:
        components = {"web": (WEB_IMAGE, "{{ sha }}"), "worker": (WORKER_IMAGE, "{{ sha }}")}
    specs = {name: ComponentSpec(image=image, tag=tag) for name, (image, tag) in components.items()}
    engine = create_engine(settings)
    try:
        images.forget_known()
        await images.remember_components(session_factory(engine), provider, repository, specs, None)
    finally:
        await engine.dispose()


def release_body(name: str = "web-v1.2.0", **changes: Any) -> dict[str, Any]:
    """The seed's body, for acme/web on github.com."""
    body: dict[str, Any] = {
        "name": name,
        "components": [
            {"componentId": "web", "digest": DIGEST_WEB},
            {"componentId": "worker", "digest": DIGEST_WORKER},
        ],
        "sourceRef": {
            "type": "git",
            "repository": "https://github.com/acme/web",
            "commit": COMMIT,
            "tag": "v1.2.0",
            "branch": "main",
        },
        "metadata": {
            "buildId": "12345",
            "buildUrl": "https://ci.example.com/builds/12345",
            "triggeredBy": "ci-pipeline",
        },
    }
    body.update(changes)
    return body


async def queued_jobs(redis_url: str, queue_name: str = "shipyard") -> list[str]:
    """The job ids waiting on the queue's sorted set (no worker runs in these tests)."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        members = await client.zrange(f"{queue_name}:queue", 0, -1)
    finally:
        await client.aclose()
    return [member.decode() for member in members]


async def creator_headers(settings: Settings, name: str = "ci") -> dict[str, str]:
    """A release-creator on acme/*: what a CI pipeline's account usually is."""
    return bearer(await make_token(settings, name, "release-creator", repositories=["acme/*"]))


def serve_config(
    host: respx.MockRouter, config: str | None, repository: str = "acme/web"
) -> tuple[respx.Route, respx.Route]:
    """GitHub answering the repository (default branch main) and its .shipyard.yml at main
    (404 when `config` is None): the two reads a config read makes, by exact path."""
    repo = host.get(f"{API}/repos/{repository}").mock(
        return_value=httpx.Response(200, json=sample("repository") | {"default_branch": "main"})
    )
    path = f"{API}/repos/{repository}/contents/.shipyard.yml"
    if config is None:
        answer = httpx.Response(404, json={"message": "Not Found"})
    else:
        content = base64.b64encode(config.encode()).decode()
        file = {"type": "file", "encoding": "base64", "content": content}
        answer = httpx.Response(200, json=file)
    return repo, host.get(path, params={"ref": "main"}).mock(return_value=answer)
