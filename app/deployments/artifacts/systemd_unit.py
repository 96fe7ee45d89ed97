"""The systemd-unit artifact: a service unit that runs the release (pure).

The built-in unit runs the release's first component, its image by digest, with `docker run`,
labelled with the release; its description names the service, repository, release and
environment. A repository's template (`template:`) sees the values `values.template_values`
lists and `unit`: `service`, `container`, `image`, and `description` and `exec_start` already
escaped for a unit file (systemd's `%` specifiers and `$` expansion, and its quoting).
"""

from __future__ import annotations

import re
from typing import Any

from app.deployments.artifacts.base import Artifact, ArtifactError, ArtifactInputs
from app.deployments.artifacts.rendering import builtin_template, render_file, template_source
from app.deployments.artifacts.values import (
    digest_pin,
    release_labels,
    service_name,
    template_values,
)
from app.environments.config import ArtifactSpec

__all__ = ["BUILTIN", "KIND", "exec_word", "generate", "unit_values"]

KIND = "systemd-unit"
BUILTIN = "systemd.service.j2"
DOCKER = "/usr/bin/docker"
_BARE_WORD = re.compile(r"[A-Za-z0-9@+=:,./_-]+")
_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _specifiers(text: str) -> str:
    """`text` with systemd's `%` specifiers kept literal."""
    return text.replace("%", "%%")


def exec_word(value: str) -> str:
    """One word of an `ExecStart=` line that systemd hands the program exactly as `value`."""
    if _BARE_WORD.fullmatch(value):
        return value
    escaped = "".join(
        _C_ESCAPES.get(char) or (f"\\x{ord(char):02x}" if _CONTROL.match(char) else char)
        for char in value
    )
    return '"' + _specifiers(escaped).replace("$", "$$") + '"'


def _description(service: str, inputs: ArtifactInputs) -> str:
    text = f"{service}: {inputs.repository} release {inputs.release_name} in {inputs.environment}"
    return _specifiers(_CONTROL.sub(" ", text))


def _first_image(inputs: ArtifactInputs) -> tuple[str, str] | None:
    """The first component's name and image by digest, if the release pins one."""
    if not inputs.components or not inputs.components[0].digest:
        return None
    first = inputs.components[0]
    return first.name, digest_pin(first, inputs.release_name, KIND)


def unit_values(inputs: ArtifactInputs, service: str) -> dict[str, Any]:
    """`unit` as a template sees it; `image` and `exec_start` are None when the release has no
    first component with a digest."""
    first = _first_image(inputs)
    exec_start = None
    if first is not None:
        component, image = first
        words = [DOCKER, "run", "--rm", "--name", service]
        for name, value in release_labels(inputs, component).items():
            words += ["--label", f"{name}={value}"]
        exec_start = " ".join(exec_word(word) for word in [*words, image])
    return {
        "service": service,
        "container": service,
        "image": first[1] if first else None,
        "description": _description(service, inputs),
        "exec_start": exec_start,
    }


def _builtin(inputs: ArtifactInputs) -> str:
    if not inputs.components:
        raise ArtifactError(
            f"{KIND}: release {inputs.release_name!r} has no components, so the built-in "
            "unit has no image to run; declare `components:` or give a `template:`"
        )
    digest_pin(inputs.components[0], inputs.release_name, KIND)  # ArtifactError without one
    return builtin_template(BUILTIN)


def generate(spec: ArtifactSpec, inputs: ArtifactInputs) -> Artifact:
    """The unit for `inputs`, from the spec's template or the built-in one."""
    service = service_name(inputs, spec.service)
    values = {**template_values(inputs), "unit": unit_values(inputs, service)}
    if spec.template:
        label = f"{KIND}: template {spec.template!r}"
        source = template_source(KIND, spec.template, inputs)
    else:
        label = f"{KIND}: built-in template"
        source = _builtin(inputs)
    text = render_file(label, source, values)
    return Artifact.of(KIND, spec.filename or f"{service}.service", text.encode("utf-8"))
