"""The compose-file artifact: a Docker Compose file rendered from the repository's template
(Jinja, sandboxed, with the values `values.template_values` lists), or from the built-in one:
one service per component, its image by digest, and the release's labels (pure). Unlike a
compose-lock it records no digest of its own."""

from __future__ import annotations

import yaml

from app.deployments.artifacts.base import Artifact, ArtifactError, ArtifactInputs
from app.deployments.artifacts.rendering import builtin_template, render_file, template_source
from app.deployments.artifacts.values import digest_pin, template_values
from app.environments.config import ArtifactSpec

__all__ = ["BUILTIN", "DEFAULT_FILENAME", "KIND", "generate"]

KIND = "compose-file"
DEFAULT_FILENAME = "shipyard.compose.yml"
BUILTIN = "compose.yml.j2"


def _check_builtin_inputs(inputs: ArtifactInputs) -> None:
    if not inputs.components:
        raise ArtifactError(
            f"{KIND}: release {inputs.release_name!r} has no components, so the built-in "
            "compose file has no service; declare `components:` or give a `template:`"
        )
    for component in inputs.components:
        digest_pin(component, inputs.release_name, KIND)  # ArtifactError without a digest


def _check_compose(label: str, text: str) -> None:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ArtifactError(f"{label} does not render to YAML: {error}") from None
    if not isinstance(document, dict):
        raise ArtifactError(f"{label} does not render to a compose file (a YAML mapping)")


def generate(spec: ArtifactSpec, inputs: ArtifactInputs) -> Artifact:
    """The compose file for `inputs`, from the spec's template or the built-in one."""
    if spec.template:
        label = f"{KIND}: template {spec.template!r}"
        source = template_source(KIND, spec.template, inputs)
    else:
        _check_builtin_inputs(inputs)
        label = f"{KIND}: built-in template"
        source = builtin_template(BUILTIN)
    text = render_file(label, source, template_values(inputs))
    _check_compose(label, text)
    return Artifact.of(KIND, spec.filename or DEFAULT_FILENAME, text.encode("utf-8"))
