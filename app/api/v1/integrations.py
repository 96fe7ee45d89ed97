"""`/integrations` (admin only): the providers there are, and the integrations registered with
them — register, list, read, change, remove; test one (connectivity, authentication and
functionality, with latencies) and ask one what it reaches. The CLI's `shipyard integrations`
works on the same store; a credential is a reference, never a value."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import AliasChoices, Field
from starlette.requests import Request
from starlette.responses import Response

from app.accounts import Permission
from app.api.v1.auth import caller_of, services_of
from app.api.v1.errors import ApiError, Unprocessable
from app.api.v1.models import ApiModel, FieldProblem, Line
from app.api.v1.operations import Operation, json_response, read_body, read_query
from app.integrations import monitor, store
from app.integrations.errors import IntegrationError
from app.integrations.kinds import IntegrationType
from app.integrations.model import Integration
from app.integrations.spec import ProviderSpec
from app.services import Services

__all__ = ["integration_problems", "operations"]

CREATE = Permission("integrations", "create")
READ = Permission("integrations", "read")
DELETE = Permission("integrations", "delete")
NOT_AVAILABLE = "not available in this version"
EXAMPLE: dict[str, object] = {
    "name": "prod-registry",
    "type": "registry",
    "provider": "docker-registry",
    "description": "The production registry",
    "config": {"endpoint": "https://registry.example.com", "timeout": 10, "retries": 2},
    "credentialRef": "vault://vault-1/docker/prod#credentials",
    "labels": {"env": "production"},
}

_Credential = Field(
    None,
    max_length=500,
    validation_alias=AliasChoices("credentialRef", "authRef", "credential_ref"),
    description="Where the credential lives: env://VAR, file:///path or "
    "vault://<integration>/<path>#<key> (never its value); `authRef` is taken too",
)


class ProviderOut(ApiModel):
    name: str
    type: str
    title: str
    available: bool = Field(description="false: listed by the documents, not in this version")
    supports_discovery: bool
    supported_resource_types: list[str]
    is_test_only: bool
    note: str | None = Field(description="Why it cannot be registered, when it cannot")
    config_keys: list[str] = Field(description="The keys its config takes")
    reference_keys: list[str] = Field(
        description="Config keys that hold a credential: a reference, never the value"
    )


class ProviderList(ApiModel):
    items: list[ProviderOut]


class ProviderQuery(ApiModel):
    include_test_only: bool = Field(False, description="List the providers tests use too")


class CheckOut(ApiModel):
    success: bool
    latency_ms: float
    message: str
    error_code: str | None = Field(None, description="INTEGRATION_UNHEALTHY, TIMEOUT … on failure")
    checked_at: datetime | None = None


class HealthOut(ApiModel):
    status: str = Field(description="healthy, degraded, unhealthy or unknown")
    last_check: datetime | None
    latency_ms: float | None
    message: str | None
    checks: dict[str, CheckOut] = Field(description="The last result of each level checked")


class IntegrationOut(ApiModel):
    id: int
    name: str
    type: str
    provider: str
    description: str
    config: dict[str, Any]
    credential_ref: str | None = Field(description="The credential's reference, never its value")
    labels: dict[str, str]
    repositories: list[str] = Field(description="Whose .shipyard.yml may name it")
    health: HealthOut
    breaker: str = Field(description="This process's circuit breaker: closed, open or half_open")
    created_at: datetime
    updated_at: datetime


class IntegrationList(ApiModel):
    items: list[IntegrationOut]


_REPOSITORIES = (
    "Repositories whose .shipyard.yml may name it: acme/* (any host) or gitlab:group/**; "
    "none: only the server's own uses"
)


class IntegrationCreate(ApiModel):
    name: Line = Field(
        max_length=100,
        description="Lower-case letters, digits, '.', '_' and '-'; unique: what configs name",
    )
    type: IntegrationType
    provider: Line = Field(max_length=40, description="One of GET /integrations/providers")
    description: str = Field("", max_length=500)
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="endpoint, timeout, retries and what the provider takes (its configKeys)",
    )
    credential_ref: Line | None = _Credential
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
    repositories: list[Line] = Field(
        default_factory=list, max_length=100, description=_REPOSITORIES
    )


class IntegrationPatch(ApiModel):
    """A JSON merge patch: only what is given changes; `config` and `labels` are merged (null
    removes a key), null `credentialRef` removes it. The name, type and provider stay."""

    description: str | None = Field(None, max_length=500)
    config: dict[str, Any] | None = None
    credential_ref: Line | None = _Credential
    labels: dict[str, str | None] | None = Field(None, max_length=50)
    repositories: list[Line] | None = Field(None, max_length=100, description=_REPOSITORIES)


class IntegrationQuery(ApiModel):
    type: IntegrationType | None = None
    provider: Line | None = Field(None, max_length=40)
    label: Line | None = Field(
        None, max_length=500, description="key:value, or several: key:value,key:value"
    )


class TestReportOut(ApiModel):
    integration_id: int
    name: str
    success: bool = Field(description="Whether every check passed")
    health: str
    results: dict[str, CheckOut] = Field(description="By level, in the order checked")


class DiscoverFilter(ApiModel):
    name_pattern: str | None = Field(
        None, max_length=200, description="A glob (web-*) or a part of the name"
    )
    repository: str | None = Field(
        None, max_length=300, description="tags: the repository whose tags"
    )


class DiscoverBody(ApiModel):
    resource_type: Line = Field(
        max_length=40, description="One of the provider's supportedResourceTypes"
    )
    filter: DiscoverFilter | None = None


class ResourceOut(ApiModel):
    type: str
    name: str
    id: str | None
    url: str | None
    details: dict[str, Any]


class DiscoveryOut(ApiModel):
    integration_id: int
    resource_type: str
    resources: list[ResourceOut]
    count: int
    cached: bool = Field(description="Answered from the cache of an earlier discovery")
    expires_in_seconds: float


def _provider_out(spec: ProviderSpec) -> ProviderOut:
    return ProviderOut.model_validate(
        {
            **spec.as_json(),
            "note": None if spec.available else NOT_AVAILABLE,
            "configKeys": sorted(spec.config.model_fields),
            "referenceKeys": sorted(spec.config.references),
        }
    )


def _out(services: Services, integration: Integration) -> IntegrationOut:
    position = services.integrations.breakers.state(integration.name).position
    return IntegrationOut.model_validate({**integration.as_json(), "breaker": position})


_WHERE = {
    "name": "body.name",
    "type": "body.type",
    "provider": "body.provider",
    "label": "body.labels",
    "description": "body.description",
    "credential": "body.credentialRef",
    "repositories": "body.repositories",
}


def integration_problems(message: str) -> list[FieldProblem]:
    """Each line of an InvalidIntegration, with where in the request it is about."""
    problems = []
    for line in message.splitlines():
        head = line.split(":", 1)[0].split(" ", 1)[0]
        path = "body." + head if head.startswith("config") else _WHERE.get(head, "body")
        problems.append(FieldProblem(path=path, message=line))
    return problems


def _invalid(error: store.InvalidIntegration) -> ApiError:
    problems = integration_problems(str(error))
    summary = "; ".join(problem.message for problem in problems)
    return ApiError(400, "invalid_integration", summary, fields=problems)


def _hub_error(error: IntegrationError) -> ApiError:
    """The hub's error as an answer: no such integration 404, asked what it does not do 400,
    its config cannot serve 422; the integration failing (or answering that what was asked is
    not there) 502, with Retry-After when it says when to try again. The code says which."""
    message = (
        f"integration {error.integration}: {error.detail}" if error.integration else error.detail
    )
    if error.code == "INTEGRATION_NOT_FOUND":
        return ApiError(404, error.code, message)
    if error.code == "UNSUPPORTED":
        return ApiError(400, error.code, message)
    if error.code == "INVALID_CONFIG":
        return ApiError(422, error.code, message)
    headers = {}
    if error.retry_after is not None and error.code in ("RATE_LIMITED", "INTEGRATION_UNHEALTHY"):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return ApiError(502, error.code, message, headers=headers)


def _keys(text: str) -> list[store.IntegrationKey]:
    """What `{integrationId}` may mean: an id, else a name (digits are tried as both)."""
    if text.isdigit() and len(text) < 10:
        return [int(text), text]
    return [text]


async def _integration(request: Request) -> Integration:
    hub = services_of(request).integrations
    text: str = request.path_params["integrationId"]
    for key in _keys(text):
        try:
            return await hub.integration(key)
        except IntegrationError as error:
            if error.code != "INTEGRATION_NOT_FOUND":
                raise _hub_error(error) from None
    raise ApiError(
        404, "INTEGRATION_NOT_FOUND", f"there is no integration with the id or name {text!r}"
    )


def _labels(text: str | None) -> dict[str, str]:
    wanted: dict[str, str] = {}
    for pair in (text or "").split(","):
        key, colon, value = pair.strip().partition(":")
        if not colon or not key:
            raise Unprocessable("query.label", f"{pair.strip()!r} is not key:value")
        wanted[key] = value
    return wanted


async def providers(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, READ)
    query = read_query(request, ProviderQuery)
    specs = [
        spec
        for spec in services.integrations.catalogue.values()
        if query.include_test_only or not spec.test_only
    ]
    specs.sort(key=lambda spec: (not spec.available, spec.type, spec.name))
    return json_response(ProviderList(items=[_provider_out(spec) for spec in specs]))


async def create(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, CREATE)
    body = await read_body(request, IntegrationCreate)
    try:
        made = await store.create_integration(
            services.sessions,
            services.settings,
            services.integrations.catalogue,
            name=body.name,
            type=body.type,
            provider=body.provider,
            config=body.config,
            credential_ref=body.credential_ref,
            description=body.description,
            labels=body.labels,
            repositories=body.repositories,
        )
    except store.InvalidIntegration as error:
        raise _invalid(error) from None
    except store.IntegrationExists as error:
        raise ApiError(409, "integration_exists", str(error)) from None
    await monitor.schedule_checks(services.sessions, made.id)
    return json_response(_out(services, made), 201)


async def index(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, READ)
    query = read_query(request, IntegrationQuery)
    found = await store.list_integrations(
        services.sessions,
        type=query.type,
        provider=query.provider,
        labels=_labels(query.label) if query.label is not None else None,
    )
    return json_response(IntegrationList(items=[_out(services, i) for i in found]))


async def show(request: Request) -> Response:
    await caller_of(request, READ)
    return json_response(_out(services_of(request), await _integration(request)))


def _merged(labels: Mapping[str, str], patch: Mapping[str, str | None]) -> dict[str, str]:
    merged = {**labels, **patch}
    return {key: value for key, value in merged.items() if value is not None}


async def update(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, CREATE)
    body = await read_body(request, IntegrationPatch)
    integration = await _integration(request)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if changes.get("labels") is not None:
        changes["labels"] = _merged(integration.labels, changes["labels"])
    try:
        changed = await store.update_integration(
            services.sessions,
            services.settings,
            services.integrations.catalogue,
            integration.id,
            changes,
        )
    except store.InvalidIntegration as error:
        raise _invalid(error) from None
    except IntegrationError as error:
        raise _hub_error(error) from None
    services.integrations.forget(changed)
    return json_response(_out(services, changed))


async def remove(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, DELETE)
    integration = await _integration(request)
    try:
        gone = await store.delete_integration(services.sessions, integration.id)
    except IntegrationError as error:
        raise _hub_error(error) from None
    services.integrations.forget(gone)
    return Response(status_code=204)


async def test(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, CREATE)
    integration = await _integration(request)
    report = await services.integrations.test(integration)
    return json_response(TestReportOut.model_validate(report.as_json()))


async def discover(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, READ)
    body = await read_body(request, DiscoverBody)
    integration = await _integration(request)
    wanted = body.filter or DiscoverFilter()
    scope = {"repository": wanted.repository} if wanted.repository else None
    try:
        found = await services.integrations.discover(
            integration, body.resource_type, pattern=wanted.name_pattern, scope=scope
        )
    except IntegrationError as error:
        raise _hub_error(error) from None
    return json_response(DiscoveryOut.model_validate(found.as_json()))


class NoContent(ApiModel):
    """Nothing: the answer has no body."""


_BY_ID_OR_NAME = "The integration by its id or its name"
_HUB_ERRORS: dict[int, str] = {
    400: "The body is not JSON, or the resource type is not one the provider discovers "
    "(the message lists those it does)",
    404: "No integration has that id or name",
    422: "The request does not fit the schema, or the integration's config cannot serve it",
    502: "The integration failed (the code says how: CONNECTION_REFUSED, "
    "AUTHENTICATION_FAILED, RATE_LIMITED or INTEGRATION_UNHEALTHY with Retry-After, …)",
}

operations = [
    Operation(
        "GET",
        "/integrations/providers",
        "listIntegrationProviders",
        "List the integration providers: those built, and those not in this version",
        providers,
        {200: ("The providers", ProviderList)},
        tag="integrations",
        query=ProviderQuery,
    ),
    Operation(
        "POST",
        "/integrations",
        "createIntegration",
        "Register an integration",
        create,
        {201: ("The integration", IntegrationOut)},
        tag="integrations",
        body=IntegrationCreate,
        errors={
            400: "The body is not JSON, or the integration is not valid: every problem is "
            "named (an unknown or unavailable provider, a config key it does not take, a "
            "credential given as a value rather than a reference …)",
            409: "An integration of that name is registered",
        },
        example=EXAMPLE,
    ),
    Operation(
        "GET",
        "/integrations",
        "listIntegrations",
        "List the integrations, by name, with their health",
        index,
        {200: ("The integrations", IntegrationList)},
        tag="integrations",
        query=IntegrationQuery,
    ),
    Operation(
        "GET",
        "/integrations/{integrationId}",
        "getIntegration",
        "Read an integration, with its health",
        show,
        {200: ("The integration", IntegrationOut)},
        tag="integrations",
        path_names=("integrationId",),
        description=_BY_ID_OR_NAME,
    ),
    Operation(
        "PATCH",
        "/integrations/{integrationId}",
        "updateIntegration",
        "Change an integration (a JSON merge patch)",
        update,
        {200: ("The integration, changed", IntegrationOut)},
        tag="integrations",
        body=IntegrationPatch,
        path_names=("integrationId",),
        errors={400: "The body is not JSON, or the changed integration is not valid"},
        description=_BY_ID_OR_NAME,
    ),
    Operation(
        "DELETE",
        "/integrations/{integrationId}",
        "deleteIntegration",
        "Remove an integration, and its scheduled health checks",
        remove,
        {204: ("Removed", NoContent)},
        tag="integrations",
        path_names=("integrationId",),
        description=_BY_ID_OR_NAME,
    ),
    Operation(
        "POST",
        "/integrations/{integrationId}/test",
        "testIntegration",
        "Check an integration's connectivity, authentication and functionality",
        test,
        {
            200: (
                "Each level's result with its latency; `success` says whether all passed",
                TestReportOut,
            )
        },
        tag="integrations",
        path_names=("integrationId",),
        description="Resolves its credential on the server; no answer holds a resolved value. "
        "Checks even through an open circuit breaker, and stores the results as its health. "
        "Answers 200 whether or not the checks pass: the body says.",
    ),
    Operation(
        "POST",
        "/integrations/{integrationId}/discover",
        "discoverIntegrationResources",
        "Ask an integration what it reaches: repositories, tags, jobs, channels …",
        discover,
        {200: ("What it reaches, filtered by the pattern", DiscoveryOut)},
        tag="integrations",
        body=DiscoverBody,
        path_names=("integrationId",),
        errors=_HUB_ERRORS,
        description="Answers are cached per integration and resource type (repositories 1 h, "
        "tags 5 min, pipelines 1 h, channels 24 h).",
    ),
]
