"""The release's values as a deploy target is told them (pure): the webhook body, the names an
api target's body template sees, and a workflow's inputs, all read from one task's `SHIPYARD_*`
variables and its ids.

The body:

    {"release": {"id", "name", "version", "commit",
                 "components": [{"name", "image", "digest"}, …]},
     "environment", "target", "digests": {component: digest},
     "job": id, "task": id, "attempt": n, "params": {name: value}}

Read from: SHIPYARD_RELEASE (the name), SHIPYARD_RELEASE_ID, SHIPYARD_RELEASE_VERSION,
SHIPYARD_COMMIT, SHIPYARD_DIGESTS (a JSON object, component → digest), SHIPYARD_COMPONENT with
its SHIPYARD_IMAGE and SHIPYARD_DIGEST (a task that deploys one component; its digest is used
when SHIPYARD_DIGESTS is absent), SHIPYARD_IMAGES when set (a JSON object, component → image
repository; else a component's image is known for SHIPYARD_COMPONENT only, and null for the
others), and SHIPYARD_PARAM_<NAME> (a param, named by <NAME> in lower case). The environment,
target, job, task and attempt come from the task itself, never from text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.deployments.executors.base import DeployFailed, TaskRun, Variables

__all__ = [
    "PARAM_PREFIX",
    "deploy_payload",
    "json_bytes",
    "params_of",
    "payload_of",
    "workflow_inputs",
]

PARAM_PREFIX = "SHIPYARD_PARAM_"


def deploy_payload(run: TaskRun) -> dict[str, Any]:
    """The body a webhook target receives (and an api target's template sees) for `run`."""
    return payload_of(
        run.variables,
        environment=run.environment,
        target=run.target.name,
        job_id=run.job_id,
        task_id=run.task_id,
        attempt=run.attempt,
    )


def payload_of(
    variables: Variables,
    *,
    environment: str,
    target: str,
    job_id: int,
    task_id: int,
    attempt: int,
) -> dict[str, Any]:
    """The body from the variables and the task's ids; DeployFailed if a JSON one is not."""
    digests = _digests(variables)
    images = _images(variables)
    components = [
        {"name": name, "image": _text(images.get(name)), "digest": digest}
        for name, digest in sorted(digests.items())
    ]
    return {
        "release": {
            "id": _id(variables.get("SHIPYARD_RELEASE_ID")),
            "name": variables.get("SHIPYARD_RELEASE"),
            "version": variables.get("SHIPYARD_RELEASE_VERSION"),
            "commit": variables.get("SHIPYARD_COMMIT"),
            "components": components,
        },
        "environment": environment,
        "target": target,
        "digests": digests,
        "job": job_id,
        "task": task_id,
        "attempt": attempt,
        "params": params_of(variables),
    }


def workflow_inputs(payload: Mapping[str, Any]) -> dict[str, str]:
    """A workflow's inputs (the host takes text only): release, release_id, environment,
    target, commit, digests and params (both JSON). The same seven every time, so the
    workflow can declare them all: a host refuses inputs a workflow does not declare."""
    release = payload["release"]
    return {
        "release": release["name"] or "",
        "release_id": "" if release["id"] is None else str(release["id"]),
        "environment": payload["environment"],
        "target": payload["target"],
        "commit": release["commit"] or "",
        "digests": json.dumps(payload["digests"], sort_keys=True, separators=(",", ":")),
        "params": json.dumps(payload["params"], sort_keys=True, separators=(",", ":")),
    }


def params_of(variables: Variables) -> dict[str, str]:
    """SHIPYARD_PARAM_<NAME> as {name: value}."""
    return {
        name.removeprefix(PARAM_PREFIX).lower(): value
        for name, value in sorted(variables.items())
        if name.startswith(PARAM_PREFIX) and len(name) > len(PARAM_PREFIX)
    }


def json_bytes(value: Any) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _digests(variables: Variables) -> dict[str, str | None]:
    if "SHIPYARD_DIGESTS" not in variables:
        component = variables.get("SHIPYARD_COMPONENT")
        return {component: variables.get("SHIPYARD_DIGEST")} if component else {}
    return {
        str(name): _text(digest)
        for name, digest in _json_object(variables, "SHIPYARD_DIGESTS").items()
    }


def _images(variables: Variables) -> dict[str, Any]:
    images = _json_object(variables, "SHIPYARD_IMAGES")
    component, image = variables.get("SHIPYARD_COMPONENT"), variables.get("SHIPYARD_IMAGE")
    if component and image:
        images.setdefault(component, image)
    return images


def _json_object(variables: Variables, name: str) -> dict[str, Any]:
    text = variables.get(name)
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise DeployFailed(f"{name} is not a JSON object of component names (it is set by the job)")
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _id(value: str | None) -> int | str | None:
    if value is None or not value.strip():
        return None
    return int(value) if value.isdigit() else value
