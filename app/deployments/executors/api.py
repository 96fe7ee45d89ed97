"""The api deploy target (ECS / Nomad style): a JSON request rendered from the connection's body
template, with the credential as a bearer token, then its status URL polled until done.

The body template renders in Shipyard's Jinja sandbox (`steps.templates`) over the webhook
body's names: `release` (id, name, version, commit, components), `environment`, `target`,
`digests`, `job`, `task`, `attempt` and `params`. When the template is itself JSON, each of its
strings is rendered on its own, so no value can break the JSON, and a string that is exactly
one `{{ expression }}` keeps the value's type (`"{{ digests }}"` is an object); otherwise the
whole text is rendered and must parse as JSON (write values as `{{ x | tojson }}`). Either way
the body is a JSON object or array. Without a template the body is the webhook's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from app.deployments.executors.base import (
    CheckResult,
    DeployFailed,
    NotSupported,
    TaskRun,
    Variables,
)
from app.deployments.executors.http_calls import (
    Polling,
    check_target,
    deliver,
    log_dry_run,
    resolve_credential,
    target_headers,
)
from app.deployments.executors.payload import deploy_payload, json_bytes
from app.deployments.targets.spec import ApiConnection
from app.secrets.masker import Masker
from steps.templates import TemplateError, render_value

__all__ = ["ApiExecutor", "executor", "render_body"]

_CREDENTIAL_IS = "the bearer token"


class ApiExecutor:
    """Send the rendered body with a bearer token; follow the deployment's status URL."""

    type_name: ClassVar[str] = "api"

    def __init__(self, *, polling: Polling | None = None) -> None:
        self._polling = polling or Polling()

    async def deploy(self, run: TaskRun) -> None:
        connection = _connection(run)
        body = render_body(connection.body, deploy_payload(run))
        if run.dry_run:
            adds = f"Authorization: Bearer {run.target.credential}"
            log_dry_run(run, connection, body=body, adds=adds)
            return
        mask = Masker()
        token = await resolve_credential(run, _CREDENTIAL_IS, mask)
        headers = await target_headers(run, connection, mask) | _bearer(token)
        await deliver(
            run,
            connection,
            body=body,
            headers=headers,
            request_headers={"Content-Type": "application/json"},
            polling=self._polling,
            mask=mask,
        )

    async def run_command(self, run: TaskRun, command: str, variables: Variables) -> int:
        raise NotSupported(
            f"target {run.target.name} is an api target: it runs no commands (use an http "
            "health check, or an ssh or command target)"
        )

    async def test(self, run: TaskRun) -> CheckResult:
        return await check_target(run, _connection(run), what=_CREDENTIAL_IS, auth=_bearer)


def render_body(template: str | None, names: Mapping[str, Any]) -> bytes:
    """The request body: `template` rendered over `names` (see the module's docstring), or
    `names` itself without one; DeployFailed saying why when it is not a JSON object or array."""
    if template is None:
        return json_bytes(dict(names))
    try:
        value = _render(template, names)
    except TemplateError as error:
        raise DeployFailed(f"the api target's body template: {error}") from None
    if not isinstance(value, dict | list):
        raise DeployFailed(
            "the api target's body template must give a JSON object or array, "
            f"not {_json_kind(value)}"
        )
    return json_bytes(value)


def _render(template: str, names: Mapping[str, Any]) -> Any:
    try:
        parsed = json.loads(template)
    except ValueError:
        pass
    else:
        return render_value(parsed, names)
    rendered = render_value(template, names)
    if not isinstance(rendered, str):
        return rendered  # one `{{ expression }}`: its value
    try:
        return json.loads(rendered)
    except json.JSONDecodeError as error:
        where = f"{error.msg} at line {error.lineno} column {error.colno}"
        raise DeployFailed(
            f"the api target's body template did not render to JSON ({where}); "
            "write values as {{ x | tojson }}, or write the template as JSON"
        ) from None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _connection(run: TaskRun) -> ApiConnection:
    connection = run.target.connection
    if not isinstance(connection, ApiConnection):
        raise DeployFailed(
            f"target {run.target.name} is a {connection.type} target, not an api target"
        )
    return connection


executor = ApiExecutor()
