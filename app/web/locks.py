"""The locks page: the environment locks held now — on which environment of which repository,
held by whom, why, and how long they have left.

Behind the sign-in door like every page: only the locks of repositories the viewer may read
are shown; `?repo=` narrows them to one repository.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth.access import Resource, Viewer, readable
from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.locks import DeploymentLock
from app.deployments import jobs
from app.environments.locks import active_locks, time_left
from app.web.deployments import query_string, repo_name, repository_filter
from app.web.guard import auth_for, services_of, signed_in
from app.web.render import render

__all__ = ["routes"]

_Repository = tuple[str, str]


async def _installations(
    sessions: SessionFactory, locks: Sequence[DeploymentLock]
) -> dict[_Repository, int | None]:
    """Each repository's installation on its host, as its newest deployment recorded it (a
    lock keeps none): what asking the host whether a viewer may read it needs."""
    found: dict[_Repository, int | None] = {}
    for provider, repository in dict.fromkeys((lock.provider, lock.repository) for lock in locks):
        newest = await jobs.list_jobs(sessions, provider=provider, repository=repository, limit=1)
        found[(provider, repository)] = newest[0].installation_id if newest else None
    return found


@signed_in
async def locks_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    repo = request.query_params.get("repo") or request.query_params.get("repository") or None
    provider, repository = repository_filter(repo)
    held = await active_locks(services.sessions, provider, repository)
    installations = await _installations(services.sessions, held)

    def resource_of(lock: DeploymentLock) -> Resource:
        where = (lock.provider, lock.repository)
        return Resource(lock.provider, lock.repository, installations.get(where))

    permissions = auth_for(request).permissions
    shown = await readable(services.providers, permissions, viewer, held, resource_of)
    now = utcnow()
    return render(
        "locks.html",
        locks=[(lock, time_left(lock, now)) for lock in shown],
        repo=repo,
        environments_url=(
            "/environments" + query_string(repo=repo_name(provider, repository))
            if provider and repository
            else None
        ),
        viewer=viewer,
    )


routes = [
    Route("/locks", locks_page),
]
