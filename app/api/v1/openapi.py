"""`/openapi.json`: the OpenAPI 3.1 document of `/api/v1`, made from the operations table and
the very pydantic models that validate the requests and shape the answers. Unauthenticated."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import Response

from app.api.v1.models import Success
from app.api.v1.operations import MAX_ID, NAME, Operation

__all__ = ["OPENAPI_PATH", "OpenApiDocument", "openapi_document", "openapi_operation"]

OPENAPI_PATH = "/openapi.json"
REF = "#/components/schemas/{model}"
_SECURITY = "serviceAccountToken"
NO_CONTENT = 204  # an answer without a body: no content is described


_Refs = Mapping[tuple[Any, JsonSchemaMode], Any]
_Queries = Mapping[type[BaseModel], dict[str, Any]]


class OpenApiDocument(BaseModel):
    """This document (its top level; the rest is OpenAPI's own schema)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


def _answer_model(status: int, model: type[BaseModel]) -> type[BaseModel]:
    if model is OpenApiDocument or status >= 300:
        return model
    return Success[model]  # type: ignore[valid-type]


def _parameters(operation: Operation, schemas: _Queries) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name in operation.path_ids
    ]
    parameters += [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": f"^{NAME.pattern}$"},
        }
        for name in operation.path_names
    ]
    if operation.query is not None:
        schema = schemas[operation.query]
        required = set(schema.get("required", ()))
        for name, prop in schema["properties"].items():
            description = prop.pop("description", None)
            parameter = {"name": name, "in": "query", "required": name in required}
            if description:
                parameter["description"] = description
            parameters.append({**parameter, "schema": prop})
    return parameters


def _operation(operation: Operation, refs: _Refs, query: _Queries) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "security": [{_SECURITY: []}] if operation.authenticated else [],
        "responses": {
            str(status): {"description": description}
            if status == NO_CONTENT
            else {
                "description": description,
                "content": {
                    "application/json": {
                        "schema": refs[(_answer_model(status, model), "serialization")]
                    }
                },
            }
            for status, (description, model) in operation.all_responses().items()
        },
    }
    if operation.description:
        described["description"] = operation.description
    parameters = _parameters(operation, query)
    if parameters:
        described["parameters"] = parameters
    if operation.body is not None:
        media: dict[str, Any] = {"schema": refs[(operation.body, "validation")]}
        if operation.example is not None:
            media["example"] = operation.example
        described["requestBody"] = {"required": True, "content": {"application/json": media}}
    return described


def openapi_document(operations: Sequence[Operation]) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for operation in operations:
        if operation.body is not None:
            wanted.append((operation.body, "validation"))
        for status, (_description, model) in operation.all_responses().items():
            wanted.append((_answer_model(status, model), "serialization"))
    refs, top = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    query = {
        operation.query: operation.query.model_json_schema(ref_template=REF)
        for operation in operations
        if operation.query is not None
    }
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault("/api/v1" + operation.path, {})[operation.method.lower()] = _operation(
            operation, refs, query
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Shipyard",
            "version": "1",
            "description": "Releases from CI. Every call but this document's needs "
            "`Authorization: Bearer <token>` of a service account (`shipyard_sa_…`).",
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                _SECURITY: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A service account's token: shipyard_sa_…",
                }
            },
        },
    }


def openapi_operation(operations: Callable[[], Sequence[Operation]]) -> Operation:
    """The operation serving the document of `operations()` (this one included), made once."""
    made: list[bytes] = []

    async def serve_openapi(_request: Request) -> Response:
        if not made:
            made.append(json.dumps(openapi_document(operations())).encode())
        return Response(made[0], media_type="application/json")

    return Operation(
        "GET",
        OPENAPI_PATH,
        "getOpenApiDocument",
        "This document",
        serve_openapi,
        {200: ("The OpenAPI 3.1 document", OpenApiDocument)},
        tag="meta",
        authenticated=False,
    )
