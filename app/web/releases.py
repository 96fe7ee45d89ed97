"""The pages of releases: the list (newest first, per repository with `?repository=`) and one
release with its components, source, creator, metadata, the commits since the previous one and
the environments where it is live. Behind the sign-in door like every page: a release of a
repository the viewer cannot read answers like one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth.access import Resource, Viewer, readable
from app.db.models.releases import Release
from app.deployments.where import live_releases
from app.releases import store
from app.releases.links import HostLinks, host_links, web_link
from app.web.guard import auth_for, may_see, services_of, signed_in
from app.web.render import render

__all__ = ["resource_of_release", "routes"]

PAGE_SIZE = 50
# Metadata shown in rows of their own; the rest is listed as it came.
_KNOWN_METADATA = ("build_id", "build_url", "triggered_by", "test_results")


def resource_of_release(release: Release) -> Resource:
    return Resource(release.provider, release.repository, release.installation_id)


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _list_query(**values: str | int | None) -> str:
    return "?" + urlencode({key: value for key, value in values.items() if value})


@signed_in
async def releases_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    repository = request.query_params.get("repository") or None
    provider = request.query_params.get("provider") or None
    before = _id(request.query_params.get("before"))
    fetched = await store.list_releases(
        services.sessions,
        provider=provider,
        repository=repository,
        before_id=before,
        limit=PAGE_SIZE,
    )
    permissions = auth_for(request).permissions
    shown = await readable(services.providers, permissions, viewer, fetched, resource_of_release)
    older = None
    if len(fetched) == PAGE_SIZE:
        older = _list_query(repository=repository, provider=provider, before=fetched[-1].id)
    repositories = sorted({(release.provider, release.repository) for release in shown})
    return render(
        "releases.html",
        releases=shown,
        repository=repository,
        provider=provider,
        repositories=[
            (f"{host}: {name}", _list_query(provider=host, repository=name))
            for host, name in repositories
        ],
        older=older,
        viewer=viewer,
    )


@dataclass(frozen=True)
class _Commit:
    sha: str
    url: str | None


def _metadata(build: dict[str, Any]) -> dict[str, Any]:
    tests = build.get("test_results")
    return {
        "build_id": build.get("build_id"),
        "build_url": build.get("build_url"),
        "build_link": web_link(str(build.get("build_url") or "")),
        "triggered_by": build.get("triggered_by"),
        "test_results": tests if isinstance(tests, dict) else None,
        "other": {key: value for key, value in build.items() if key not in _KNOWN_METADATA},
    }


@signed_in
async def release_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    release_id = _id(request.path_params["release_id"])
    release = await store.get_release(services.sessions, release_id) if release_id else None
    if release is None or not await may_see(request, viewer, resource_of_release(release)):
        what = f"release {request.path_params['release_id']}"
        return render("not_found.html", 404, what=what, viewer=viewer)
    links: HostLinks = host_links(services.settings, release.provider, release.repository)
    previous = None
    if release.previous_id is not None:
        previous = await store.get_release(services.sessions, release.previous_id)
    live = await live_releases(services.sessions, release.provider, release.repository)
    return render(
        "release.html",
        release=release,
        live_in=[name for name, live_id in live.items() if live_id == release.id],
        has_environments=bool(live),
        environments_url="/environments"
        + _list_query(repo=f"{release.provider}:{release.repository}"),
        links=links,
        source_link=web_link(release.source_url),
        commits=[_Commit(sha, links.commit(sha)) for sha in release.commits],
        previous=previous,
        metadata=_metadata(release.build or {}),
        list_url=_list_query(provider=release.provider, repository=release.repository),
        viewer=viewer,
    )


routes = [
    Route("/releases", releases_page),
    Route("/releases/{release_id}", release_page),
]
