"""The manifest artifact: what a job deploys, as JSON (sorted keys, two-space indent, a
trailing newline) for tools on the target to read (pure).

    {"components": [{"digest", "image", "name", "tag"}, …], "environment", "job": {"id"},
     "manifest_version": 1, "provider", "release": {"commit", "id", "name", "version"},
     "repository", "targets": [{"host", "name", "type"}, …]}

Components and targets keep the release's and the environment's order.
"""

from __future__ import annotations

import json
from typing import Any

from app.deployments.artifacts.base import Artifact, ArtifactInputs
from app.deployments.artifacts.values import job_values
from app.environments.config import ArtifactSpec

__all__ = ["DEFAULT_FILENAME", "KIND", "MANIFEST_VERSION", "generate", "manifest_of"]

KIND = "manifest"
DEFAULT_FILENAME = "shipyard.manifest.json"
MANIFEST_VERSION = 1


def manifest_of(inputs: ArtifactInputs) -> dict[str, Any]:
    """The manifest's content as plain values."""
    return {
        "manifest_version": MANIFEST_VERSION,
        **job_values(inputs),
        "targets": [
            {"name": target.name, "type": target.type, "host": target.host}
            for target in inputs.targets
        ],
        "components": [
            {
                "name": component.name,
                "image": component.image,
                "digest": component.digest,
                "tag": component.tag,
            }
            for component in inputs.components
        ],
    }


def generate(spec: ArtifactSpec, inputs: ArtifactInputs) -> Artifact:
    """The manifest for `inputs`."""
    text = json.dumps(manifest_of(inputs), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return Artifact.of(KIND, spec.filename or DEFAULT_FILENAME, text.encode("utf-8"))
