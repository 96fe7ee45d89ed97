"""One table of the API's operations: each names its method, path, permission, the models
that validate its body and query, and the model of every answer it gives. The routes and the
OpenAPI document are both made from it, so the document describes what is validated."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.v1.errors import ApiError, Unprocessable, from_validation
from app.api.v1.models import ApiModel, ErrorBody

__all__ = ["Operation", "json_response", "read_body", "read_query", "routes_of"]

M = TypeVar("M", bound=BaseModel)
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_ID = 2**31 - 1  # ids are 32-bit integers in both databases


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as OpenAPI writes it: /releases/{releaseId}
    operation_id: str
    summary: str
    endpoint: Endpoint
    responses: Mapping[int, tuple[str, type[BaseModel]]]  # status → (description, model)
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_ids: tuple[str, ...] = ()  # integer path parameters
    path_names: tuple[str, ...] = ()  # name path parameters (letters, digits, '-', '_', '.')
    authenticated: bool = True
    description: str = ""
    errors: Mapping[int, str] = field(default_factory=dict)  # status → description
    example: Mapping[str, object] | None = None  # a request body, for the document

    def all_responses(self) -> dict[int, tuple[str, type[BaseModel]]]:
        """Its own answers and the errors any operation may give."""
        found = dict(self.responses)
        standard: dict[int, str] = {}
        if self.authenticated:
            standard[401] = "No token, or one that is unknown, expired or revoked"
            standard[403] = "The account lacks the permission, or the repository is not its"
        if self.body is not None:
            standard[400] = "The body is not JSON"
            standard[413] = "The body is over 1 MB"
        if self.body is not None or self.query is not None:
            standard[422] = "The request does not fit the schema; `fields` names where"
        if self.path_ids or self.path_names:
            standard[404] = "No such resource"
        for status, description in {**standard, **self.errors}.items():
            found.setdefault(status, (description, ErrorBody))
        return dict(sorted(found.items()))


def routes_of(operations: Sequence[Operation]) -> list[Route]:
    """One Starlette route per path, answering each method with its operation's endpoint (so
    a 405 lists every method the path has); an id out of range is 404 before the endpoint."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for operation in operations:
        path = operation.path
        for name in operation.path_ids:
            path = path.replace("{" + name + "}", "{" + name + ":int}")
        endpoint = operation.endpoint
        if operation.path_ids:
            endpoint = _ids_in_range(operation.path_ids, endpoint)
        if operation.path_names:
            endpoint = _names_well_formed(operation.path_names, endpoint)
        by_path.setdefault(path, {})[operation.method] = endpoint
    return [
        Route(path, _by_method(methods), methods=list(methods)) for path, methods in by_path.items()
    ]


def _by_method(endpoints: Mapping[str, Endpoint]) -> Endpoint:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return dispatch


def _ids_in_range(names: tuple[str, ...], endpoint: Endpoint) -> Endpoint:
    async def checked(request: Request) -> Response:
        for name in names:
            if not 0 < request.path_params[name] <= MAX_ID:
                raise ApiError(404, "not_found", f"no resource has the id {name} given")
        return await endpoint(request)

    return checked


# Letters, digits, '-', '_' and '.' (integration names: registry.example.com), never first:
# no name is a path's `.` or `..`.
NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


def _names_well_formed(names: tuple[str, ...], endpoint: Endpoint) -> Endpoint:
    async def checked(request: Request) -> Response:
        for name in names:
            if not NAME.fullmatch(request.path_params[name]):
                raise ApiError(404, "not_found", f"no {name} has that name")
        return await endpoint(request)

    return checked


async def read_body(request: Request, model: type[M]) -> M:
    """The JSON body validated by `model`: 400 when it is not JSON, 422 naming each field
    that does not fit. Read whatever the Content-Type says (curl's -d sends form's)."""
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = (
            f" (line {error.lineno}, column {error.colno})"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise ApiError(400, "invalid_json", f"the body is not JSON{where}") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation("body", error) from None


def read_query(request: Request, model: type[M]) -> M:
    """The query parameters validated by `model` (each given once), 422 naming a bad one."""
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            raise Unprocessable(f"query.{key}", "given more than once")
        params[key] = value
    try:
        return model.model_validate(params)
    except ValidationError as error:
        raise from_validation("query", error) from None


def json_response(data: ApiModel, status: int = 200) -> Response:
    """`{"success": true, "data": …}` in camelCase (the shape of `Success[type(data)]`)."""
    body = b'{"success":true,"data":' + data.model_dump_json(by_alias=True).encode() + b"}"
    return Response(body, status_code=status, media_type="application/json")
