"""Generated deployment artifacts: one pure generator per kind, chosen by the spec's `kind`
from a table, and what a deploy needs around them: the repository templates to read before
generating, the secret references to fill as a file is written, a compose lock's check.

Every generator takes the spec and the job's values and gives the same bytes for the same
inputs (sorted keys, no timestamps), as an `Artifact` with their sha256.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from app.deployments.artifacts import (
    compose_file,
    compose_lock,
    env_file,
    manifest,
    nginx_config,
    systemd_unit,
)
from app.deployments.artifacts.base import (
    Artifact,
    ArtifactError,
    ArtifactInputs,
    ComponentView,
    TargetView,
)
from app.deployments.artifacts.compose_lock import verify_compose_lock
from app.deployments.artifacts.secrets import fill, secret_references
from app.environments.config import ArtifactSpec

__all__ = [
    "GENERATORS",
    "Artifact",
    "ArtifactError",
    "ArtifactInputs",
    "ComponentView",
    "Generator",
    "TargetView",
    "fill",
    "generate",
    "secret_references",
    "templates_needed",
    "verify_compose_lock",
]

Generator = Callable[[ArtifactSpec, ArtifactInputs], Artifact]

GENERATORS: Mapping[str, Generator] = {
    module.KIND: module.generate
    for module in (compose_lock, compose_file, env_file, systemd_unit, nginx_config, manifest)
}


def generate(spec: ArtifactSpec, inputs: ArtifactInputs) -> Artifact:
    """The file `spec` asks for, generated from `inputs`; ArtifactError says why it cannot be."""
    generator = GENERATORS.get(spec.kind)
    if generator is None:
        raise ArtifactError(f"unknown artifact kind {spec.kind!r} (kinds: {', '.join(GENERATORS)})")
    return generator(spec, inputs)


def templates_needed(specs: Iterable[ArtifactSpec]) -> list[str]:
    """The repository paths the specs' `template:` options name, each once, sorted: read them
    at the default branch and hand them in as `ArtifactInputs.templates`."""
    return sorted({spec.template for spec in specs if spec.template})
