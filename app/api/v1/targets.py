"""`/targets` (admin only): register deploy targets, list, read, change (a JSON merge patch) and
remove them, and test one (connect and authenticate, deploying nothing). The CLI's
`shipyard targets` works on the same store; a credential is a reference, never a value."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import Response

from app.accounts import Permission
from app.api.v1.auth import caller_of, services_of
from app.api.v1.errors import ApiError, NotFound
from app.api.v1.models import ApiModel, Line
from app.api.v1.operations import Operation, json_response, read_body
from app.db.models.base import as_utc
from app.db.models.deployments import Target
from app.deployments.targets import store
from app.deployments.targets.spec import (
    ApiConnection,
    CommandConnection,
    InvalidTarget,
    SshConnection,
    TargetSpec,
    WebhookConnection,
    WorkflowConnection,
)

__all__ = ["operations"]

CREATE = Permission("targets", "create")
READ = Permission("targets", "read")
DELETE = Permission("targets", "delete")
_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True)
EXAMPLE: dict[str, object] = {
    "name": "web-prod",
    "connection": {
        "type": "webhook",
        "url": "https://deploy.example.com/hooks/web",
        "headers": {"Authorization": "env://DEPLOY_API_AUTH"},
    },
    "credential": "env://DEPLOY_WEBHOOK_SECRET",
    "labels": {"region": "eu"},
    "repositories": ["acme/web"],
}


# The spec's own connection models, camelCase on the wire: the same fields and checks.
class SshConnectionIn(SshConnection):
    __doc__ = SshConnection.__doc__
    model_config = _CAMEL


class WebhookConnectionIn(WebhookConnection):
    __doc__ = WebhookConnection.__doc__
    model_config = _CAMEL


class ApiConnectionIn(ApiConnection):
    __doc__ = ApiConnection.__doc__
    model_config = _CAMEL


class WorkflowConnectionIn(WorkflowConnection):
    __doc__ = WorkflowConnection.__doc__
    model_config = _CAMEL


class CommandConnectionIn(CommandConnection):
    __doc__ = CommandConnection.__doc__
    model_config = _CAMEL


ConnectionIn = Annotated[
    SshConnectionIn
    | WebhookConnectionIn
    | ApiConnectionIn
    | WorkflowConnectionIn
    | CommandConnectionIn,
    Field(discriminator="type"),
]
_CONNECTION: TypeAdapter[ConnectionIn] = TypeAdapter(ConnectionIn)

_Credential = Annotated[
    Line,
    Field(
        max_length=500,
        description="Where the credential lives: env://VAR, file:///path or "
        "vault://<integration>/<path>#<key> (never its value)",
    ),
]
_Repositories = Annotated[
    list[Line],
    Field(
        min_length=1,
        max_length=100,
        description="The repositories that may deploy to it: globs, acme/* (any host) or "
        "gitlab:group/** (one host)",
    ),
]


class TargetCreate(ApiModel):
    name: Line = Field(
        max_length=100,
        description="Letters, digits, '-' and '_'; unique: what a repository's config names",
    )
    connection: ConnectionIn
    credential: _Credential | None = None
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
    repositories: _Repositories
    idempotent: bool = Field(False, description="Its deploy may safely run twice")


class ConnectionPatch(ApiModel):
    """Connection fields to change: a field given replaces the stored one, null puts it back
    to its default; `headers` is merged the same way. A different `type` replaces the whole
    connection, so give all of the new type's fields with it."""

    type: Literal["ssh", "webhook", "api", "workflow", "command"] | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    workdir: str | None = None
    known_host: str | None = None
    host_key_fingerprint: str | None = None
    url: str | None = None
    method: str | None = None
    headers: dict[str, str | None] | None = None
    status_url: str | None = None
    timeout: float | None = None
    body: str | None = None
    provider: str | None = None
    repository: str | None = None
    workflow: str | None = None
    ref: str | None = None
    command: str | None = None


class TargetPatch(ApiModel):
    """A JSON merge patch (RFC 7396): only what is given changes; null removes (`credential`,
    a label); `labels` and `connection` are merged, `repositories` replaced. The name stays."""

    connection: ConnectionPatch | None = None
    credential: _Credential | None = None
    labels: dict[str, str | None] | None = Field(None, max_length=50)
    repositories: _Repositories | None = None
    idempotent: bool | None = None


class TargetOut(ApiModel):
    id: int
    name: str
    type: str
    connection: ConnectionIn
    credential: str | None = Field(description="The credential's reference, never its value")
    labels: dict[str, str]
    repositories: list[str]
    idempotent: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class TargetList(ApiModel):
    items: list[TargetOut]


class CheckOut(ApiModel):
    what: str = Field(description="What was checked: the credential, reachable, …")
    ok: bool
    detail: str


class TargetChecks(ApiModel):
    target: str
    ok: bool = Field(description="Whether every check passed")
    checks: list[CheckOut]


def _out(row: Target) -> TargetOut:
    assert row.id is not None
    return TargetOut(
        id=row.id,
        name=row.name,
        type=row.type,
        connection=_CONNECTION.validate_python(row.connection),
        credential=row.credential,
        labels=row.labels,
        repositories=row.repositories,
        idempotent=row.idempotent,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _body_path(where: str) -> str:
    """A spec's field as the request names it: connection.known_host → body.connection.knownHost."""
    return ".".join(["body", *(to_camel(part) for part in where.split("."))])


def _invalid(error: InvalidTarget) -> ApiError:
    return ApiError(422, "invalid_target", str(error))


async def _row(request: Request) -> Target:
    target_id: int = request.path_params["targetId"]
    row = await store.get_target(services_of(request).sessions, target_id)
    if row is None:
        raise NotFound(f"no target has the id {target_id}")
    return row


async def create(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, CREATE)
    body = await read_body(request, TargetCreate)
    try:
        spec = TargetSpec.parse(body.model_dump(), _body_path)
        row = await store.add_target(
            services.sessions,
            services.settings,
            spec,
            created_by=f"service account {caller.name}",
        )
    except InvalidTarget as error:
        raise _invalid(error) from None
    except store.TargetExists as error:
        raise ApiError(409, "target_exists", str(error)) from None
    return json_response(_out(row), 201)


async def index(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, READ)
    rows = await store.list_targets(services.sessions)
    return json_response(TargetList(items=[_out(row) for row in rows]))


async def show(request: Request) -> Response:
    await caller_of(request, READ)
    return json_response(_out(await _row(request)))


async def update(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, CREATE)
    body = await read_body(request, TargetPatch)
    patch: dict[str, Any] = body.model_dump(exclude_unset=True)
    target_id: int = request.path_params["targetId"]
    try:
        row = await store.update_target(
            services.sessions, services.settings, target_id, patch, _body_path
        )
    except store.TargetNotFound:
        raise NotFound(f"no target has the id {target_id}") from None
    except InvalidTarget as error:
        raise _invalid(error) from None
    return json_response(_out(row))


async def remove(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, DELETE)
    target_id: int = request.path_params["targetId"]
    row = await store.remove_target(services.sessions, target_id)
    if row is None:
        raise NotFound(f"no target has the id {target_id}")
    return json_response(_out(row))


async def test(request: Request) -> Response:
    # The executors (asyncssh among them) load when a target is first tested, not with the API.
    from app.deployments.targets.testing import CannotTest, test_target

    services = services_of(request)
    await caller_of(request, CREATE)
    row = await _row(request)
    try:
        result = await test_target(services, row)
    except CannotTest as error:
        raise ApiError(422, "cannot_test", str(error)) from None
    checks = [CheckOut(what=what, ok=ok, detail=detail) for what, ok, detail in result.checks]
    return json_response(TargetChecks(target=row.name, ok=result.ok, checks=checks))


operations = [
    Operation(
        "POST",
        "/targets",
        "createTarget",
        "Register a deploy target",
        create,
        {201: ("The target", TargetOut)},
        tag="targets",
        body=TargetCreate,
        errors={
            409: "A target of that name is registered",
            422: "The request does not fit the schema, or the target is not valid (the "
            "message says why: a credential that is not a reference, a missing host key…)",
        },
        example=EXAMPLE,
    ),
    Operation(
        "GET",
        "/targets",
        "listTargets",
        "List the deploy targets, by name",
        index,
        {200: ("The targets", TargetList)},
        tag="targets",
    ),
    Operation(
        "GET",
        "/targets/{targetId}",
        "getTarget",
        "Read a deploy target",
        show,
        {200: ("The target", TargetOut)},
        tag="targets",
        path_ids=("targetId",),
    ),
    Operation(
        "PATCH",
        "/targets/{targetId}",
        "updateTarget",
        "Change a deploy target (a JSON merge patch)",
        update,
        {200: ("The target, changed", TargetOut)},
        tag="targets",
        body=TargetPatch,
        path_ids=("targetId",),
        errors={422: "The request does not fit the schema, or the changed target is not valid"},
    ),
    Operation(
        "DELETE",
        "/targets/{targetId}",
        "deleteTarget",
        "Remove a deploy target: deployments to it are refused from then on",
        remove,
        {200: ("The target, removed", TargetOut)},
        tag="targets",
        path_ids=("targetId",),
    ),
    Operation(
        "POST",
        "/targets/{targetId}/test",
        "testTarget",
        "Connect to a deploy target and authenticate, deploying nothing",
        test,
        {200: ("Each check, with whether it passed", TargetChecks)},
        tag="targets",
        path_ids=("targetId",),
        errors={422: "The target cannot be tested as registered (the message says why)"},
        description="Resolves the target's credential and header references on the server "
        "and uses them to connect; no answer holds a resolved value.",
    ),
]
