"""`/deployments` and `/environments/{environment}/rollback`: promote a release into an
environment, list and read deployments, approve (a person, signed in: never a service
account, never the one who asked), cancel, and roll an environment back — each through the
one gate every promotion passes (`app.environments.promotion`); a refusal is 403 naming it."""

from __future__ import annotations

import hmac
from datetime import datetime

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from app.accounts import Caller, Permission
from app.api.v1.auth import caller_of, require_repository, services_of
from app.api.v1.errors import ApiError, Forbidden, NotFound, Unauthorized
from app.api.v1.models import ApiModel, Line
from app.api.v1.operations import MAX_ID, Operation, json_response, read_body, read_query
from app.api.v1.scope import repository_query, scoped_page
from app.auth.state import session_of
from app.db.models.base import as_utc
from app.db.models.deployments import DeploymentJob, DeploymentTask
from app.deployments import jobs, tasks
from app.deployments.reporting import job_url
from app.deployments.variables import param_variable
from app.environments import promotion
from app.environments.requesters import Requester
from app.releases import store as releases

__all__ = ["DeploymentOut", "deployment_out", "operations"]

CREATE = Permission("deployments", "create")
READ = Permission("deployments", "read")
CSRF_HEADER = "x-shipyard-csrf"


class DeploymentCreate(ApiModel):
    release: int = Field(ge=1, le=MAX_ID, description="The release's id")
    environment: Line = Field(max_length=100, description="An environment of its repository")
    params: dict[str, str] = Field(
        default_factory=dict,
        max_length=50,
        description="key=value the executors receive as SHIPYARD_PARAM_<KEY>",
    )


class RollbackCreate(ApiModel):
    repository: Line = Field(max_length=500, description="A repository URL, or provider:owner/name")
    to: int | None = Field(
        None, ge=1, le=MAX_ID, description="The release to go back to (default: the one before)"
    )


class TaskOut(ApiModel):
    id: int
    wave: int
    kind: str
    target: str | None
    targets: list[str]
    component: str | None
    state: str
    attempts: int
    digest: str | None
    replaced_digest: str | None
    error: str | None


class GateOut(ApiModel):
    gate: str
    result: str


class DeploymentOut(ApiModel):
    id: int
    provider: str
    repository: str
    environment: str
    release_id: int
    kind: str
    state: str
    requested_by: str
    via: str
    approvals_required: int
    approvals: list[str]
    params: dict[str, str]
    gates: list[GateOut] = Field(description="The gates it passed when it was asked for")
    error: str | None
    url: str = Field(description="Its page on Shipyard")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    tasks: list[TaskOut]


class DeploymentPage(ApiModel):
    items: list[DeploymentOut]
    next_cursor: str | None


class DeploymentQuery(ApiModel):
    repository: Line | None = Field(None, max_length=500)
    environment: Line | None = Field(None, max_length=100)
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, pattern=r"^[0-9]{1,10}$")


def _task_out(task: DeploymentTask) -> TaskOut:
    return TaskOut(
        id=task.id or 0,
        wave=task.wave,
        kind=task.kind,
        target=task.target,
        targets=task.targets,
        component=task.component,
        state=task.state,
        attempts=task.attempts,
        digest=task.digest,
        replaced_digest=task.replaced_digest,
        error=task.error,
    )


async def deployment_out(request: Request, job: DeploymentJob) -> DeploymentOut:
    services = services_of(request)
    assert job.id is not None
    loaded = await tasks.load(services.sessions, job.id)
    approvals = await jobs.approvals_of(services.sessions, job.id)
    return DeploymentOut(
        id=job.id,
        provider=job.provider,
        repository=job.repository,
        environment=job.environment,
        release_id=job.release_id,
        kind=job.kind,
        state=job.state,
        requested_by=job.requested_by,
        via=job.via,
        approvals_required=job.approvals_required,
        approvals=[f"{a.host}:{a.login}" for a in approvals],
        params=job.params,
        gates=[GateOut(gate=g["gate"], result=g["result"]) for g in job.spec.get("gates", [])],
        error=job.error,
        url=job_url(services.settings.public_url, job.id),
        created_at=as_utc(job.created_at),
        started_at=as_utc(job.started_at),
        finished_at=as_utc(job.finished_at),
        tasks=[_task_out(t) for t in (loaded.tasks if loaded else [])],
    )


def _refused(refusal: promotion.Refusal) -> ApiError:
    return ApiError(403, f"gate_{refusal.gate}", str(refusal))


async def create(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, CREATE)
    body = await read_body(request, DeploymentCreate)
    release = await releases.get_release(services.sessions, body.release)
    if release is None:
        raise NotFound(f"no release has the id {body.release}")
    require_repository(caller, release.provider, release.repository)
    for name in body.params:
        try:
            param_variable(name)
        except ValueError as error:
            raise ApiError(422, "invalid_param", str(error)) from None
    try:
        job = await promotion.promote(
            services,
            promotion.Promotion(
                release_id=body.release,
                environment=body.environment,
                requester=Requester.service_account(caller),
                via="api",
                params=body.params,
            ),
        )
    except promotion.Refusal as refusal:
        raise _refused(refusal) from None
    return json_response(await deployment_out(request, job), 201)


async def _job(request: Request, caller: Caller | None) -> DeploymentJob:
    services = services_of(request)
    job = await jobs.get_job(services.sessions, request.path_params["deploymentId"])
    if job is None:
        raise NotFound(f"no deployment has the id {request.path_params['deploymentId']}")
    if caller is not None:
        require_repository(caller, job.provider, job.repository)
    return job


async def show(request: Request) -> Response:
    caller = await caller_of(request, READ)
    return json_response(await deployment_out(request, await _job(request, caller)))


async def index(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, READ)
    query = read_query(request, DeploymentQuery)
    found = await scoped_page(
        services,
        caller,
        lambda provider, repository, before_id, limit: jobs.list_jobs(
            services.sessions,
            provider=provider,
            repository=repository,
            environment=query.environment,
            before_id=before_id,
            limit=limit,
        ),
        repository=query.repository,
        cursor=query.cursor,
        limit=query.limit,
    )
    page = DeploymentPage(
        items=[await deployment_out(request, job) for job in found.items],
        next_cursor=found.next_cursor,
    )
    return json_response(page)


def _person(request: Request) -> Requester:
    """The person signed in to Shipyard's pages whose session cookie (and CSRF token, in the
    X-Shipyard-CSRF header) the request carries. A bearer token is a service account: refused."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        raise Forbidden(
            "a service account may not approve deployments: approvals are given by people, "
            "signed in to Shipyard with their Git host",
            code="gate_approvals",
        )
    session = session_of(request, services_of(request).settings)
    if session is None:
        raise Unauthorized("sign in to Shipyard's pages with your Git host to approve")
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise Forbidden(f"the {CSRF_HEADER} header must carry the session's token", "csrf")
    return Requester.person(session.host, session.login)


async def approve(request: Request) -> Response:
    approver = _person(request)
    job = await _job(request, None)
    try:
        job = await promotion.approve(services_of(request), job.id or 0, approver)
    except promotion.Refusal as refusal:
        raise _refused(refusal) from None
    return json_response(await deployment_out(request, job))


async def cancel(request: Request) -> Response:
    caller = await caller_of(request, CREATE)
    job = await _job(request, caller)
    try:
        job = await promotion.cancel(
            services_of(request), job.id or 0, Requester.service_account(caller)
        )
    except promotion.Refusal as refusal:
        raise ApiError(409, "not_cancellable", str(refusal)) from None
    return json_response(await deployment_out(request, job))


async def roll_back(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, CREATE)
    body = await read_body(request, RollbackCreate)
    provider, repository = repository_query(services, body.repository, "body.repository")
    if provider is None:
        raise ApiError(422, "invalid", "body.repository: give its URL or provider:owner/name")
    require_repository(caller, provider, repository)
    try:
        job = await promotion.rollback(
            services,
            provider,
            repository,
            request.path_params["environment"],
            Requester.service_account(caller),
            via="api",
            to=body.to,
        )
    except promotion.Refusal as refusal:
        raise _refused(refusal) from None
    return json_response(await deployment_out(request, job), 201)


_GATE = {403: "A gate refused it: the message says which, and how to pass it"}

operations = [
    Operation(
        "POST",
        "/deployments",
        "createDeployment",
        "Promote a release into an environment",
        create,
        {201: ("The deployment: awaiting approval, or queued for its turn", DeploymentOut)},
        tag="deployments",
        body=DeploymentCreate,
        errors={404: "No such release", **_GATE},
        example={"release": 42, "environment": "staging", "params": {"migrate": "true"}},
    ),
    Operation(
        "GET",
        "/deployments",
        "listDeployments",
        "List deployments, newest first",
        index,
        {200: ("A page of deployments", DeploymentPage)},
        tag="deployments",
        query=DeploymentQuery,
    ),
    Operation(
        "GET",
        "/deployments/{deploymentId}",
        "getDeployment",
        "Read one deployment, with its tasks",
        show,
        {200: ("The deployment", DeploymentOut)},
        tag="deployments",
        path_ids=("deploymentId",),
    ),
    Operation(
        "POST",
        "/deployments/{deploymentId}/approve",
        "approveDeployment",
        "Approve a deployment (a person signed in to Shipyard's pages; not the requester)",
        approve,
        {200: ("The deployment, with the approval counted", DeploymentOut)},
        tag="deployments",
        path_ids=("deploymentId",),
        authenticated=False,
        errors={
            401: "No session: sign in to Shipyard's pages with your Git host",
            403: "A service account, the requester, someone without the role, or no CSRF token",
        },
        description="Authenticated by the session cookie of Shipyard's pages, with its CSRF "
        f"token in the {CSRF_HEADER} header; a bearer token is refused.",
    ),
    Operation(
        "POST",
        "/deployments/{deploymentId}/cancel",
        "cancelDeployment",
        "Cancel a deployment: waiting, at once; running, at its tasks' next beat",
        cancel,
        {200: ("The deployment", DeploymentOut)},
        tag="deployments",
        path_ids=("deploymentId",),
        errors={409: "It has ended"},
    ),
    Operation(
        "POST",
        "/environments/{environment}/rollback",
        "rollbackEnvironment",
        "Roll an environment back to its previous good release (or a named one)",
        roll_back,
        {201: ("The rollback's deployment", DeploymentOut)},
        tag="deployments",
        body=RollbackCreate,
        path_names=("environment",),
        errors=_GATE,
    ),
]
