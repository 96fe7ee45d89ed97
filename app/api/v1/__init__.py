"""Version 1 of the REST API, for CI systems: releases, CI build reports, deployments, service
accounts, deploy targets and integrations, with its OpenAPI document. One module per resource,
each with its `operations`; they are served behind `ApiEdge` (the 1 MB limit and the API's
error shape), which nothing outside `/api/v1` passes through."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Router

from app.api.v1 import (
    ci_events,
    deployments,
    integrations,
    locks,
    releases,
    service_accounts,
    targets,
)
from app.api.v1.edge import ApiEdge
from app.api.v1.openapi import openapi_operation
from app.api.v1.operations import Operation, routes_of

__all__ = ["operations", "routes"]


def _operations() -> list[Operation]:
    return operations


operations: list[Operation] = [
    *releases.operations,
    *ci_events.operations,
    *deployments.operations,
    *service_accounts.operations,
    *targets.operations,
    *locks.operations,
    *integrations.operations,
    openapi_operation(_operations),
]

routes: list[BaseRoute] = [Mount("", app=ApiEdge(Router(routes=list(routes_of(operations)))))]
