"""The env-file artifact: the release's `SHIPYARD_*` values and the spec's `env:`, one
`KEY=value` line each, sorted by key, quoted as `dotenv` says, a secret as its reference (pure).

The values: SHIPYARD_RELEASE (the release's name), SHIPYARD_RELEASE_ID,
SHIPYARD_RELEASE_VERSION, SHIPYARD_ENVIRONMENT, SHIPYARD_REPOSITORY, SHIPYARD_COMMIT (empty
when unknown), SHIPYARD_JOB_ID, SHIPYARD_DIGESTS (JSON: component → digest or null), and per
component SHIPYARD_DIGEST_<COMPONENT> and SHIPYARD_IMAGE_<COMPONENT> (the image by digest, else
by tag; empty when neither is known), and per deploy param SHIPYARD_PARAM_<NAME>. A name
becomes upper case with anything but letters, digits and `_` as `_` (`web-api` → `WEB_API`).
"""

from __future__ import annotations

import json
import re

from app.deployments.artifacts.base import Artifact, ArtifactError, ArtifactInputs
from app.deployments.artifacts.dotenv import line, reference_line
from app.deployments.artifacts.values import image_reference
from app.environments.config import ArtifactSpec
from steps.secret_refs import is_reference

__all__ = ["DEFAULT_FILENAME", "KIND", "generate", "release_values"]

KIND = "env-file"
DEFAULT_FILENAME = "shipyard.env"
HEADER = (
    "# Written by Shipyard (env-file); the next deployment replaces it.\n"
    "# Values are quoted for both `docker compose --env-file` and `set -a; . ./<file>`.\n"
)
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def _variable(prefix: str, name: str) -> str:
    return prefix + _NOT_NAME.sub("_", name).upper()


def _add(values: dict[str, str], key: str, value: str, what: str) -> None:
    if key in values:
        raise ArtifactError(
            f"env-file: {what} and another name both become {key}; rename one of them"
        )
    values[key] = value


def release_values(inputs: ArtifactInputs) -> dict[str, str]:
    """The `SHIPYARD_*` values the file holds for this job (see the module's docstring)."""
    values = {
        "SHIPYARD_RELEASE": inputs.release_name,
        "SHIPYARD_RELEASE_ID": str(inputs.release_id),
        "SHIPYARD_RELEASE_VERSION": inputs.release_version,
        "SHIPYARD_ENVIRONMENT": inputs.environment,
        "SHIPYARD_REPOSITORY": inputs.repository,
        "SHIPYARD_COMMIT": inputs.commit or "",
        "SHIPYARD_JOB_ID": str(inputs.job_id),
        "SHIPYARD_DIGESTS": json.dumps(
            {component.name: component.digest for component in inputs.components},
            sort_keys=True,
            separators=(",", ":"),
        ),
    }
    for component in inputs.components:
        what = f"component {component.name!r}"
        _add(values, _variable("SHIPYARD_DIGEST_", component.name), component.digest or "", what)
        reference = image_reference(component) or ""
        _add(values, _variable("SHIPYARD_IMAGE_", component.name), reference, what)
    for name, value in inputs.params.items():
        _add(values, _variable("SHIPYARD_PARAM_", name), value, f"param {name!r}")
    return values


def generate(spec: ArtifactSpec, inputs: ArtifactInputs) -> Artifact:
    """The env-file for `inputs`, with `spec.env` beside the release's values."""
    lines = {key: line(key, value) for key, value in release_values(inputs).items()}
    for key, value in spec.env.items():
        if key in lines:  # the config refuses SHIPYARD_* names; this is a second line
            raise ArtifactError(f"env-file: {key} is one of Shipyard's own values")
        # Only the spec's values may be references: a release's name never becomes one.
        lines[key] = reference_line(key, value) if is_reference(value) else line(key, value)
    content = HEADER + "".join(f"{lines[key]}\n" for key in sorted(lines))
    return Artifact.of(KIND, spec.filename or DEFAULT_FILENAME, content.encode("utf-8"))
