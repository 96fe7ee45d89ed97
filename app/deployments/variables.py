"""The SHIPYARD_* environment variables of what runs on a target for a task (pure): the release,
the environment, the target, the component and its digest, the job, and the deploy's params."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from app.deployments.snapshot import ReleaseView

__all__ = ["PARAM_NAME", "param_variable", "task_variables"]

PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def param_variable(name: str) -> str:
    """`SHIPYARD_PARAM_<NAME>` for a deploy param; ValueError for a name that is not one."""
    if not PARAM_NAME.fullmatch(name):
        raise ValueError(
            f"param {name!r}: a name is letters, digits and '_' (not starting with a digit)"
        )
    return f"SHIPYARD_PARAM_{name.upper()}"


def task_variables(
    *,
    provider: str,
    repository: str,
    environment: str,
    job_id: int,
    task_id: int,
    release: ReleaseView,
    target: str | None,
    component: str | None = None,
    colour: str | None = None,
    rollback: bool = False,
    params: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every variable for one task; absent values are left out."""
    values: dict[str, str | None] = {
        "SHIPYARD_PROVIDER": provider,
        "SHIPYARD_REPOSITORY": repository,
        "SHIPYARD_ENVIRONMENT": environment,
        "SHIPYARD_JOB_ID": str(job_id),
        "SHIPYARD_TASK_ID": str(task_id),
        "SHIPYARD_RELEASE": release.name,
        "SHIPYARD_RELEASE_ID": str(release.id),
        "SHIPYARD_RELEASE_VERSION": release.version,
        "SHIPYARD_COMMIT": release.commit,
        "SHIPYARD_TAG": release.tag,
        "SHIPYARD_DIGESTS": json.dumps(release.digests(), sort_keys=True),
        "SHIPYARD_IMAGES": json.dumps(
            {c.name: c.image for c in release.components}, sort_keys=True
        ),
        "SHIPYARD_TARGET": target,
        "SHIPYARD_COLOUR": colour,
        "SHIPYARD_ROLLBACK": "true" if rollback else None,
    }
    pinned = next((c for c in release.components if c.name == component), None)
    if pinned is not None:
        values |= {
            "SHIPYARD_COMPONENT": pinned.name,
            "SHIPYARD_IMAGE": pinned.image,
            "SHIPYARD_DIGEST": pinned.digest,
        }
    for name, value in (params or {}).items():
        values[param_variable(name)] = value
    return {name: value for name, value in values.items() if value is not None}
