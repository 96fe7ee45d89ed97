"""The compose-lock artifact (the release orchestrator's ComposeLock): a Docker Compose file in
which each component's image is pinned by digest, each such service labelled with the
release, and a last `x-shipyard:` block records the release, environment, job and the file's
own sha256 (pure).

Services: by default one per component, named after it. With `template:` (a compose file of
the repository, plain YAML: it is not rendered) each service whose image, tag and digest
aside, is a component's (`ghcr.io/acme/web:latest` for `ghcr.io/acme/web`; `nginx` is
`docker.io/library/nginx`) runs that component's image by digest and gets the labels; every
other service, and every other key, stays as written (comments and YAML anchors do not
survive: anchors are written out in full). A component the file pins without a digest, or a
template in which no service runs a component, is an ArtifactError.

The labels: `org.shipyard.release` (name), `org.shipyard.release-id`,
`org.shipyard.environment`, `org.shipyard.component` and `org.shipyard.commit`.

The self digest. The file ends with its `x-shipyard:` block, every value on one line:

    x-shipyard:
      environment: "production"
      generated:
        digest: "sha256:<hex>"
      ...

`<hex>` is the sha256 of the file's bytes as generated with that one line reading
`    digest: ""` (four spaces, then `digest: ""`). The file is rendered with the empty value,
hashed, and rendered again with the hash. `verify_compose_lock` checks a file by undoing it:
it blanks that line in the file's last `x-shipyard:` block and hashes again, so a change to
any byte of the file shows.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from app.deployments.artifacts.base import Artifact, ArtifactError, ArtifactInputs, ComponentView
from app.deployments.artifacts.rendering import template_source
from app.deployments.artifacts.values import digest_pin, release_labels, same_repository
from app.environments.config import ArtifactSpec

__all__ = ["DEFAULT_FILENAME", "KIND", "generate", "verify_compose_lock"]

KIND = "compose-lock"
DEFAULT_FILENAME = "shipyard.compose.lock.yml"
EXTENSION = "x-shipyard"
HEADER = (
    "# Written by Shipyard (compose-lock): each component's image is pinned by digest.\n"
    f'# {EXTENSION}.generated.digest is the sha256 of this file with that value empty ("").\n'
)
_BLOCK_START = f"\n{EXTENSION}:\n".encode()
_BLANK_DIGEST = b'    digest: ""'
_DIGEST_LINE = re.compile(rb'^    digest: "sha256:([0-9a-f]{64})"$', re.MULTILINE)
_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class _Dumper(yaml.SafeDumper):
    """Writes shared values out in full (no `&id001` anchors in a generated file)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _default_services(inputs: ArtifactInputs) -> dict[str, Any]:
    if not inputs.components:
        raise ArtifactError(
            f"{KIND}: release {inputs.release_name!r} has no components, so there is no "
            "image to pin; declare `components:` in .shipyard.yml"
        )
    return {
        component.name: {
            "image": digest_pin(component, inputs.release_name, KIND),
            "labels": release_labels(inputs, component.name),
        }
        for component in sorted(inputs.components, key=lambda component: component.name)
    }


def _with_labels(service: dict[str, Any], labels: Mapping[str, str], where: str) -> None:
    written = service.get("labels")
    if written is None or isinstance(written, dict):
        service["labels"] = {**(written or {}), **labels}
    elif isinstance(written, list):
        kept = [item for item in written if str(item).split("=", 1)[0] not in labels]
        service["labels"] = kept + [f"{name}={value}" for name, value in labels.items()]
    else:
        raise ArtifactError(f"{KIND}: {where}: `labels:` is neither a mapping nor a list")


def _component_of(service: object, components: Sequence[ComponentView]) -> ComponentView | None:
    """The component whose image a compose service runs, if any."""
    image = service.get("image") if isinstance(service, dict) else None
    if not isinstance(image, str):
        return None
    return next((c for c in components if same_repository(image, c.image)), None)


def _load_template(path: str, inputs: ArtifactInputs) -> dict[str, Any]:
    source = template_source(KIND, path, inputs)
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise ArtifactError(f"{KIND}: template {path!r} is not YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise ArtifactError(
            f"{KIND}: template {path!r} is not a compose file (it has no `services:` mapping)"
        )
    return document


def _templated(path: str, inputs: ArtifactInputs) -> dict[str, Any]:
    document = _load_template(path, inputs)
    document.pop(EXTENSION, None)
    services: dict[str, Any] = {}
    pinned = 0
    for name, written in document["services"].items():
        service = copy.deepcopy(written)  # its own copy: YAML anchors may share one mapping
        component = _component_of(service, inputs.components)
        if component is not None:
            service["image"] = digest_pin(component, inputs.release_name, KIND)
            where = f"template {path!r}, service {name!r}"
            _with_labels(service, release_labels(inputs, component.name), where)
            pinned += 1
        services[name] = service
    if not pinned:
        images = ", ".join(component.image for component in inputs.components) or "none"
        raise ArtifactError(
            f"{KIND}: no service of template {path!r} runs a component's image (components' "
            f"images: {images}), so the lock would pin nothing"
        )
    return {**document, "services": services}


def _yaml_string(value: str | None) -> str:
    """`value` as a YAML double-quoted scalar on one line (printable text kept as it is)."""
    if value is None:
        return "null"
    escaped = []
    for char in value:
        printable = " " <= char <= "~" or (
            char >= "\xa0" and char not in "\u2028\u2029\ufeff\ufffe\uffff"
        )
        if char in _YAML_ESCAPES:
            escaped.append(_YAML_ESCAPES[char])
        elif printable and not "\ud800" <= char <= "\udfff":
            escaped.append(char)
        elif ord(char) <= 0xFF:
            escaped.append(f"\\x{ord(char):02x}")
        else:
            escaped.append(f"\\u{ord(char):04x}")
    return '"' + "".join(escaped) + '"'


def _block(inputs: ArtifactInputs, digest: str) -> str:
    lines = [
        f"{EXTENSION}:",
        f"  environment: {_yaml_string(inputs.environment)}",
        "  generated:",
        f"    digest: {_yaml_string(digest)}",
        f"  job: {inputs.job_id}",
        "  release:",
        f"    commit: {_yaml_string(inputs.commit)}",
        f"    id: {inputs.release_id}",
        f"    name: {_yaml_string(inputs.release_name)}",
        f"    version: {_yaml_string(inputs.release_version)}",
        f"  repository: {_yaml_string(inputs.repository)}",
    ]
    return "".join(f"{line}\n" for line in lines)


def generate(spec: ArtifactSpec, inputs: ArtifactInputs) -> Artifact:
    """The compose lock for `inputs`: built-in services, or the spec's template's."""
    document = (
        _templated(spec.template, inputs)
        if spec.template
        else {"services": _default_services(inputs)}
    )
    body = HEADER + yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )
    unsigned = (body + _block(inputs, "")).encode("utf-8")
    digest = "sha256:" + hashlib.sha256(unsigned).hexdigest()
    content = (body + _block(inputs, digest)).encode("utf-8")
    return Artifact.of(KIND, spec.filename or DEFAULT_FILENAME, content)


def verify_compose_lock(content: bytes) -> bool:
    """Whether `content` is a compose lock whose recorded digest is its own (see above)."""
    head, start, block = content.rpartition(_BLOCK_START)
    found = list(_DIGEST_LINE.finditer(block)) if start else []
    if len(found) != 1:
        return False
    line = found[0]
    blank = head + start + block[: line.start()] + _BLANK_DIGEST + block[line.end() :]
    recorded = line.group(1).decode()
    return hmac.compare_digest(hashlib.sha256(blank).hexdigest(), recorded)
