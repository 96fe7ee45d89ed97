"""The pages of deployments: the list, and one deployment with its waves, tasks, artifacts and logs.

Behind the sign-in door like every page: a deployment of a repository the viewer cannot read
answers like one that does not exist. What the other deployment pages share lives here too: a
job's repository as a resource, the visible-job lookup, who may act on a job and which buttons
the page shows (`deployment_buttons` presses them, `deployment_events` streams a live page,
`environments` shows what runs where); they import from here, never the other way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth.access import Resource, Viewer, readable
from app.db.engine import SessionFactory
from app.db.models.deployments import (
    FINISHED_JOB_STATES,
    DeploymentJob,
    DeploymentTask,
    JobKind,
    JobState,
    TaskKind,
)
from app.db.models.releases import Release
from app.deployments import jobs, task_logs, tasks
from app.environments.requesters import Requester
from app.releases import store as releases
from app.web.guard import auth_for, may_see, services_of, signed_in
from app.web.render import render
from providers.vocabulary import Permission

__all__ = [
    "describe_wave",
    "is_live",
    "may_act",
    "offsets_text",
    "query_string",
    "release_name",
    "repo_name",
    "repository_filter",
    "resource_of_job",
    "routes",
    "visible_job",
]

PAGE_SIZE = 50
_CANCELLABLE = (
    JobState.AWAITING_APPROVAL,
    JobState.QUEUED,
    JobState.PENDING,
    JobState.PREPARING,
    JobState.RUNNING,
)
_QUALIFIED = re.compile(r"(?P<provider>github|gitlab|gitea|forgejo):(?P<name>[^/\s]\S{0,299})")


def resource_of_job(job: DeploymentJob) -> Resource:
    return Resource(job.provider, job.repository, job.installation_id)


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def query_string(**values: str | int | None) -> str:
    """`?name=value&…` of the values that are set."""
    return "?" + urlencode({key: value for key, value in values.items() if value})


def repo_name(provider: str, repository: str) -> str:
    """How `?repo=` names a repository: `github:acme/web`."""
    return f"{provider}:{repository}"


def release_name(job: DeploymentJob) -> str:
    """The release's name as the job recorded it (no query per row of a list)."""
    release = job.spec.get("release") if isinstance(job.spec, dict) else None
    name = release.get("name") if isinstance(release, dict) else None
    return str(name) if name else f"release {job.release_id}"


def repository_filter(text: str | None) -> tuple[str | None, str | None]:
    """`provider:owner/name` → (provider, name); `owner/name` → (None, name): on any host."""
    if not text:
        return None, None
    qualified = _QUALIFIED.fullmatch(text.strip())
    if qualified:
        return qualified["provider"], qualified["name"].strip("/")
    return None, text.strip().strip("/")[:300] or None


def offsets_text(offsets: dict[int, int]) -> str:
    """Per-task log offsets as an event id: `12:340.13:0` (the page's `?offsets=` for its
    event stream, and the stream's event ids, which `deployment_events` reads back)."""
    return ".".join(f"{task}:{offset}" for task, offset in sorted(offsets.items()) if offset)


def _not_found(what: str, viewer: Viewer) -> Response:
    return render("not_found.html", 404, what=what, viewer=viewer)


# -- waves (pure) -------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    """`45s`, `5m`, `1m 30s`, `2h`."""
    if seconds < 60:
        return f"{seconds:g}s"
    hours, rest = divmod(round(seconds), 3600)
    minutes, rest = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (rest, "s")]
    return " ".join(f"{amount}{unit}" for amount, unit in parts if amount)


def describe_wave(index: int, wave: dict[str, Any]) -> str:
    """A wave of a job's plan in words: `wave 1: deploy to web-1, web-2, 1 at a time`."""
    kind = wave.get("kind")
    targets = ", ".join(str(target) for target in wave.get("targets") or [])
    head = f"wave {index + 1}"
    if kind == TaskKind.DEPLOY:
        words = f"{head}: deploy to {targets}"
        if wave.get("window"):
            words += f", {wave['window']} at a time"
        if wave.get("max_failures"):
            words += f", tolerating {wave['max_failures']} failed"
        return words
    if kind == TaskKind.BAKE:
        seconds = wave.get("bake_seconds")
        length = f" for {_duration(float(seconds))}" if seconds else ""
        return f"{head}: bake on {targets}{length}"
    if kind == TaskKind.SWITCH:
        return f"{head}: switch to {wave.get('colour') or 'the new colour'}"
    if kind == TaskKind.ROLLBACK:
        if wave.get("colour"):
            return f"{head}: roll back, switching to {wave['colour']}"
        return f"{head}: roll back {targets}"
    return f"{head}: {kind}"


@dataclass(frozen=True)
class _WaveView:
    words: str
    tasks: list[DeploymentTask]


def _waves(plan: Sequence[dict[str, Any]], rows: Sequence[DeploymentTask]) -> list[_WaveView]:
    """The plan's waves in order, each with its tasks (any a wave of the plan does not name
    last, by their own wave number)."""
    by_wave: dict[int, list[DeploymentTask]] = {}
    for task in rows:
        by_wave.setdefault(task.wave, []).append(task)
    views = [
        _WaveView(describe_wave(index, wave), by_wave.pop(index, []))
        for index, wave in enumerate(plan)
    ]
    views += [_WaveView(f"wave {index + 1}", by_wave[index]) for index in sorted(by_wave)]
    return views


# -- the list -----------------------------------------------------------------------------


@signed_in
async def deployments_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    params = request.query_params
    repo = params.get("repo") or params.get("repository") or None
    provider, repository = repository_filter(repo)
    environment = (params.get("env") or params.get("environment") or "")[:100] or None
    before = _id(params.get("before"))
    fetched = await jobs.list_jobs(
        services.sessions,
        provider=provider,
        repository=repository,
        environment=environment,
        before_id=before,
        limit=PAGE_SIZE,
    )
    permissions = auth_for(request).permissions
    shown = await readable(services.providers, permissions, viewer, fetched, resource_of_job)
    older = None
    if len(fetched) == PAGE_SIZE:
        older = query_string(repo=repo, env=environment, before=fetched[-1].id)
    return render(
        "deployments.html",
        deployments=[(job, release_name(job)) for job in shown],
        repo=repo,
        environment=environment,
        environments_url="/environments" + query_string(repo=repo),
        older=older,
        viewer=viewer,
    )


# -- one deployment -------------------------------------------------------------------------


async def visible_job(request: Request, viewer: Viewer) -> DeploymentJob | Response:
    """The job of the path, or the page of a missing one when there is none or the viewer may
    not read its repository (the same page, so nobody learns which)."""
    job_id = _id(request.path_params["job_id"])
    job = await jobs.get_job(services_of(request).sessions, job_id) if job_id else None
    if job is None or not await may_see(request, viewer, resource_of_job(job)):
        return _not_found(f"deployment {request.path_params['job_id']}", viewer)
    return job


async def may_act(request: Request, viewer: Viewer, job: DeploymentJob) -> bool:
    """Whether the viewer may cancel or roll back the job (write access to its repository)."""
    return await may_see(request, viewer, resource_of_job(job), at_least=Permission.WRITE)


def _asked_for_it(viewer: Viewer, job: DeploymentJob) -> bool:
    person = Requester.person(viewer.host, viewer.login)
    return person.name.casefold() == job.requested_by.casefold()


async def is_live(sessions: SessionFactory, job: DeploymentJob) -> bool:
    """Whether the job is what runs in its environment now (its newest completed one)."""
    if job.state != JobState.COMPLETED:
        return False
    live = await jobs.last_completed(sessions, job.provider, job.repository, job.environment)
    return live is not None and live.id == job.id


@dataclass(frozen=True)
class _Actions:
    approve: bool = False
    approve_note: str | None = None
    cancel: bool = False
    cancelling: bool = False
    rollback: bool = False


async def _actions(request: Request, viewer: Viewer, job: DeploymentJob) -> _Actions:
    """Which buttons the viewer gets (the gate still decides when one is pressed)."""
    approve, note = False, None
    if job.state == JobState.AWAITING_APPROVAL:
        if not viewer.signed_in:
            note = (
                "Approvals are given by people signed in with their Git host; these pages are "
                "open without sign-in, so nobody can approve here. Approve through the API or "
                "on a Shipyard that asks for sign-in."
            )
        elif _asked_for_it(viewer, job):
            note = "You asked for this deployment: someone else with the role approves it."
        else:
            approve = True
    writer = await may_act(request, viewer, job)
    live_states = job.state in _CANCELLABLE
    rollback = (
        writer and job.kind == JobKind.DEPLOY and await is_live(services_of(request).sessions, job)
    )
    return _Actions(
        approve=approve,
        approve_note=note,
        cancel=writer and live_states and not job.cancel_requested,
        cancelling=live_states and job.cancel_requested,
        rollback=rollback,
    )


@signed_in
async def deployment_page(request: Request, viewer: Viewer) -> Response:
    found = await visible_job(request, viewer)
    if isinstance(found, Response):
        return found
    job = found
    assert job.id is not None
    sessions = services_of(request).sessions
    loaded = await tasks.load(sessions, job.id)
    rows = loaded.tasks if loaded is not None else []
    logs = await task_logs.logs_of(sessions, job.id)
    live = job.state not in FINISHED_JOB_STATES
    offsets = {task.id: len(logs.get(task.id or 0, "")) for task in rows if task.id}
    events = f"/deployments/{job.id}/events" + query_string(offsets=offsets_text(offsets))
    return render(
        "deployment.html",
        job=job,
        release=await releases.get_release(sessions, job.release_id),
        previous=await _release_before(sessions, job),
        release_name=release_name(job),
        approvals=await jobs.approvals_of(sessions, job.id),
        waves=_waves(job.plan, rows),
        tasks=rows,
        logs=logs,
        artifacts=await jobs.artifacts_of(sessions, job.id),
        actions=await _actions(request, viewer, job),
        streaming=live,
        events_url=events if live else None,
        environment_url=_environment_url(job),
        viewer=viewer,
    )


async def _release_before(sessions: SessionFactory, job: DeploymentJob) -> Release | None:
    if job.previous_release_id is None:
        return None
    return await releases.get_release(sessions, job.previous_release_id)


def _environment_url(job: DeploymentJob) -> str:
    """The job's environment on the page of what runs where in its repository."""
    query = query_string(repo=repo_name(job.provider, job.repository))
    return f"/environments{query}#env-{quote(job.environment)}"


_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


@signed_in
async def artifact_download(request: Request, viewer: Viewer) -> Response:
    """One of the job's files as it was stored (secrets in it are references, never values)."""
    found = await visible_job(request, viewer)
    if isinstance(found, Response):
        return found
    artifact_id = _id(request.path_params["artifact_id"])
    rows = await jobs.artifacts_of(services_of(request).sessions, found.id or 0)
    artifact = next((row for row in rows if row.id == artifact_id), None)
    if artifact is None:
        return _not_found(f"artifact {request.path_params['artifact_id']}", viewer)
    filename = _SAFE_FILENAME.sub("_", artifact.filename).strip("._") or artifact.name
    return Response(
        artifact.content.encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


routes = [
    Route("/deployments", deployments_page),
    Route("/deployments/{job_id}", deployment_page),
    Route("/deployments/{job_id}/artifacts/{artifact_id}", artifact_download),
]
