"""The environments page: what runs where, per environment of a repository and per target.

Without `?repo=`, the repositories of recent deployments the viewer may read, to pick one.
Behind the sign-in door like every page: a repository the viewer cannot read answers like one
that has no deployments.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth.access import Viewer, readable
from app.db.engine import SessionFactory
from app.deployments import jobs
from app.deployments.where import running_where
from app.releases import store as releases
from app.web.deployments import (
    query_string,
    release_name,
    repo_name,
    repository_filter,
    resource_of_job,
)
from app.web.guard import auth_for, may_see, services_of, signed_in
from app.web.render import render

__all__ = ["routes"]


async def _repositories(request: Request, viewer: Viewer) -> list[tuple[str, str]]:
    """The repositories of the last 500 deployments that the viewer may read, as (label,
    `?repo=` query)."""
    services = services_of(request)
    recent = await jobs.list_jobs(services.sessions, limit=500)
    firsts = list({(job.provider, job.repository): job for job in reversed(recent)}.values())
    permissions = auth_for(request).permissions
    shown = await readable(services.providers, permissions, viewer, firsts, resource_of_job)
    pairs = sorted((job.provider, job.repository) for job in shown)
    return [(f"{p}: {r}", query_string(repo=repo_name(p, r))) for p, r in pairs]


async def _release_names(sessions: SessionFactory, ids: set[int]) -> dict[int, str]:
    names = {}
    for release_id in sorted(ids):
        release = await releases.get_release(sessions, release_id)
        names[release_id] = release.name if release is not None else f"release {release_id}"
    return names


@signed_in
async def environments_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    repo = request.query_params.get("repo") or request.query_params.get("repository") or ""
    if not repo:
        repositories = await _repositories(request, viewer)
        return render("environments.html", repo=None, repositories=repositories, viewer=viewer)
    provider, repository = repository_filter(repo)
    newest = await jobs.list_jobs(
        services.sessions, provider=provider, repository=repository, limit=1
    )
    if not newest or not await may_see(request, viewer, resource_of_job(newest[0])):
        return render("environments.html", 404, repo=repo, missing=True, viewer=viewer)
    job = newest[0]
    views = await running_where(services.sessions, job.provider, job.repository)
    ids = {p.release_id for view in views.values() for p in view.placements}
    ids |= {view.live_release_id for view in views.values() if view.live_release_id}
    return render(
        "environments.html",
        repo=repo_name(job.provider, job.repository),
        provider=job.provider,
        repository=job.repository,
        views=list(views.values()),
        names=await _release_names(services.sessions, ids),
        release_name=release_name,
        deployments_url="/deployments" + query_string(repo=repo_name(job.provider, job.repository)),
        viewer=viewer,
    )


routes = [
    Route("/environments", environments_page),
]
