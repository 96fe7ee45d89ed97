"""The events that make releases, as each host (and a registry) delivers them, from the samples
in tests/samples/; and Shipyard running against a faked host: the app takes signed deliveries
and registry notifications, a real arq worker on Redis works the queue until it is idle."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from arq.worker import Worker
from sqlmodel import col, select

from app.db.engine import create_engine, session_factory
from app.db.models.deliveries import Delivery
from app.db.models.releases import Release
from app.main import create_app
from app.services import Services
from app.settings import Settings
from tests.support.deliveries import delivery
from tests.support.http import running
from tests.support.registry import WEBHOOK_TOKEN, notification_headers
from tests.support.release_hosts import PUBLIC_URL, FakeHost, FakeRepository, faked
from tests.support.samples import load_sample
from tests.support.settings import make_settings
from tests.support.worker import run_worker_until_idle

# The samples' repository on each host, and the commit their tag v1.2.0 points at.
REPOSITORY = {
    "github": "octo-org/shipyard-demo",
    "gitlab": "harbour/shipyard-demo",
    "gitea": "harbour/shipyard-demo",
}
TAGGED = "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"
FORK = "mallory/shipyard-demo"

Delivered = tuple[str, dict[str, Any]]  # (the host's event name, the payload)


def _sample(provider: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = copy.deepcopy(load_sample(provider, name))
    return found


def moved_to(provider: str, payload: dict[str, Any], repository: str) -> dict[str, Any]:
    """`payload` as if about `repository` (same host, same owner's URLs rewritten)."""
    key = "project" if provider == "gitlab" else "repository"
    where = payload[key]
    old = where.get("full_name") or where["path_with_namespace"]
    for name, value in list(where.items()):
        if isinstance(value, str):
            where[name] = value.replace(old, repository)
    return payload


def tag_push(provider: str, tag: str = "v1.2.0", sha: str = TAGGED) -> Delivered:
    if provider == "gitlab":
        payload = _sample("gitlab", "tag-push")
        payload |= {"ref": f"refs/tags/{tag}", "after": sha, "checkout_sha": sha}
        return "Tag Push Hook", payload
    payload = _sample(provider, "push-tag")
    payload |= {"ref": f"refs/tags/{tag}", "after": sha}
    return "push", payload


def branch_push(provider: str, sha: str = TAGGED) -> Delivered:
    payload = _sample(provider, "push") | {"after": sha}
    if provider == "gitlab":
        return "Push Hook", payload | {"checkout_sha": sha}
    return "push", payload


def host_release(provider: str, tag: str = "v1.2.0", sha: str = TAGGED) -> Delivered:
    """A release published on the host for `tag`. GitHub's and Gitea's payloads name no
    commit (Shipyard asks the host which one the tag points at); GitLab's does."""
    payload = _sample(provider, "release")
    if provider == "gitlab":
        payload |= {"tag": tag, "commit": {"id": sha, "title": f"Release {tag}"}}
        return "Release Hook", payload
    payload["release"] |= {"tag_name": tag, "name": tag, "prerelease": False}
    return "release", payload


def ci_run(provider: str, *, head_repository: str, branch: str, sha: str) -> Delivered:
    """A finished, successful CI run of `branch` at `sha`, of `head_repository`'s code: a
    GitHub / Gitea `workflow_run` (a fork's pull request runs in the repository with the fork
    as its head repository), a GitLab Pipeline Hook (a merge request's pipeline from a fork
    project runs in the project, its merge request naming the fork as its source)."""
    own = REPOSITORY[provider]
    if provider == "gitlab":
        payload = _sample("gitlab", "pipeline")
        payload["object_attributes"] |= {
            "ref": branch,
            "tag": False,
            "sha": sha,
            "status": "success",
            "source": "push" if head_repository == own else "merge_request_event",
        }
        if head_repository != own:
            payload["merge_request"] = {
                "iid": 7,
                "source_branch": branch,
                "target_branch": "main",
                "source_project_id": 9999,
                "target_project_id": payload["project"]["id"],
                "url": f"{payload['project']['web_url']}/-/merge_requests/7",
            }
        return "Pipeline Hook", payload
    payload = _sample("github", "workflow-run")
    repository = _sample(provider, "push")["repository"]
    payload["repository"] = repository
    payload["workflow_run"] |= {
        "head_branch": branch,
        "head_sha": sha,
        "conclusion": "success",
        "event": "push" if head_repository == own else "pull_request",
        "head_repository": {"full_name": head_repository},
        "repository": {"full_name": own},
    }
    if provider == "gitea":
        payload.pop("installation")
    return "workflow_run", payload


def pushed_image(host: str, image: str, tag: str, digest: str) -> dict[str, Any]:
    """A registry's event of a tagged OCI manifest push (from a real registry's event)."""
    event = _sample("registry", "push-manifest")
    event["id"] = f"push-{image}-{tag}"
    event["target"] |= {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "repository": image,
        "tag": tag,
        "url": f"https://{host}/v2/{image}/manifests/{digest}",
    }
    event["request"]["host"] = host
    return event


def release_settings(migrated: str, redis_url: str, host_settings: dict[str, str]) -> Settings:
    return make_settings(
        migrated,
        REDIS_URL=redis_url,
        SHIPYARD_PUBLIC_URL=PUBLIC_URL,
        SHIPYARD_DELIVERY_RETRY_DELAY="0",
        SHIPYARD_REGISTRY_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        **host_settings,
    )


@dataclass
class Shipyard:
    """The app (taking deliveries) and a worker (run until the queue is idle)."""

    settings: Settings
    client: httpx.AsyncClient
    services: Services  # the web process's

    async def post(
        self, provider: str, delivered: Delivered, *, delivery_id: str | None = None
    ) -> httpx.Response:
        event, payload = delivered
        body, headers = delivery(provider, event, payload, delivery_id=delivery_id)
        return await self.client.post(f"/webhooks/{provider}", content=body, headers=headers)

    async def notify(self, *events: dict[str, Any]) -> httpx.Response:
        """A registry's notification of `events`, as its endpoint sends them."""
        body = json.dumps({"events": list(events)}).encode()
        return await self.client.post(
            "/webhooks/registry", content=body, headers=notification_headers()
        )

    async def deliver(self, provider: str, delivered: Delivered) -> Worker:
        """Post one delivery (it must be taken) and work the queue until it is idle."""
        response = await self.post(provider, delivered)
        assert response.status_code == 202, response.text
        return await self.settle()

    async def settle(self) -> Worker:
        worker = await run_worker_until_idle(self.settings)
        assert worker.jobs_failed == 0
        return worker


@asynccontextmanager
async def shipyard(settings: Settings) -> AsyncIterator[Shipyard]:
    app = create_app(settings)
    async with running(app) as client:
        yield Shipyard(settings, client, app.state.services)


async def stored(settings: Settings) -> tuple[list[Release], list[Delivery]]:
    """Every release and every delivery, oldest first."""
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            releases = list(await session.exec(select(Release).order_by(col(Release.id))))
            deliveries = list(await session.exec(select(Delivery).order_by(col(Delivery.id))))
            return releases, deliveries
    finally:
        await engine.dispose()


async def delivered_in_turn(
    migrated: str,
    redis_url: str,
    provider: str,
    repositories: dict[str, FakeRepository],
    *deliveries: Delivered,
) -> tuple[FakeHost, Settings]:
    """Each delivery posted in turn to Shipyard on `provider`'s faked API serving
    `repositories`, the queue worked until idle after each; the host, and the settings."""
    with faked(provider, repositories) as host:
        settings = release_settings(migrated, redis_url, host.settings)
        async with shipyard(settings) as app:
            for one in deliveries:
                await app.deliver(provider, one)
    return host, settings
