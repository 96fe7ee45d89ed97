"""What generated files say about a job: image references, a service's name, and the values
a template sees (pure)."""

from __future__ import annotations

import re
from typing import Any

from app.deployments.artifacts.base import ArtifactError, ArtifactInputs, ComponentView

__all__ = [
    "digest_pin",
    "image_reference",
    "job_values",
    "release_labels",
    "same_repository",
    "service_name",
    "strip_reference",
    "template_values",
]

_HUB = "docker.io"
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def digest_pin(component: ComponentView, release: str, kind: str) -> str:
    """`repository@sha256:…`: the component's image pinned by its digest, or ArtifactError
    saying that this release pins none for it."""
    if not component.digest:
        raise ArtifactError(
            f"{kind}: component {component.name!r} of release {release!r} has no image digest "
            "(the release pins only its commit), and this file pins images by digest; deploy "
            "a release whose components carry digests (from a registry push or a CI build "
            "report), or generate a compose-file instead"
        )
    return f"{component.image}@{component.digest}"


def image_reference(component: ComponentView) -> str | None:
    """The component's image by digest when the release pins one, else by its tag, else None."""
    if component.digest:
        return f"{component.image}@{component.digest}"
    if component.tag:
        return f"{component.image}:{component.tag}"
    return None


def release_labels(inputs: ArtifactInputs, component: str) -> dict[str, str]:
    """The labels a service running `component` carries, sorted by name."""
    return {
        "org.shipyard.commit": inputs.commit or "",
        "org.shipyard.component": component,
        "org.shipyard.environment": inputs.environment,
        "org.shipyard.release": inputs.release_name,
        "org.shipyard.release-id": str(inputs.release_id),
    }


def strip_reference(reference: str) -> str:
    """An image reference without its digest and tag: `ghcr.io/acme/web:1.2@sha256:…` →
    `ghcr.io/acme/web` (a registry's port, `localhost:5000/web`, is kept)."""
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _canonical(repository: str) -> str:
    """A repository as Docker names it in full: `nginx` → `docker.io/library/nginx`,
    `acme/web` → `docker.io/acme/web`; names with a registry host are kept, lower-cased."""
    parts = repository.lower().split("/")
    first = parts[0]
    has_host = len(parts) > 1 and ("." in first or ":" in first or first == "localhost")
    if has_host and first in _HUB_ALIASES:
        parts[0] = _HUB
    elif not has_host:
        parts.insert(0, _HUB)
    if parts[0] == _HUB and len(parts) == 2:
        parts.insert(1, "library")
    return "/".join(parts)


def same_repository(reference: str, image: str) -> bool:
    """Whether an image reference (as a compose file writes it) is of the repository `image`
    (a component's), tag and digest aside."""
    return _canonical(strip_reference(reference)) == _canonical(image)


def service_name(inputs: ArtifactInputs, given: str | None) -> str:
    """The service a unit runs: `given` (the spec's `service:`), else the repository's name
    (`acme/web` → `web`), as a name systemd and Docker both accept."""
    name = given or inputs.repository.rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("-", name).lstrip("._-")
    return name or "shipyard"


def _component(component: ComponentView) -> dict[str, Any]:
    return {
        "name": component.name,
        "image": component.image,
        "digest": component.digest,
        "tag": component.tag,
        "ref": image_reference(component),
    }


def _targets(inputs: ArtifactInputs) -> list[dict[str, Any]]:
    return [
        {
            "name": target.name,
            "type": target.type,
            "host": target.host,
            "port": target.port,
            "labels": dict(sorted(target.labels.items())),
        }
        for target in inputs.targets
    ]


def job_values(inputs: ArtifactInputs) -> dict[str, Any]:
    """What every generated file says of the job: `release` (id, name, version, commit),
    `environment`, `repository`, `provider` and `job` (id)."""
    return {
        "release": {
            "id": inputs.release_id,
            "name": inputs.release_name,
            "version": inputs.release_version,
            "commit": inputs.commit,
        },
        "environment": inputs.environment,
        "repository": inputs.repository,
        "provider": inputs.provider,
        "job": {"id": inputs.job_id},
    }


def template_values(inputs: ArtifactInputs) -> dict[str, Any]:
    """The names a file's template sees: `release` (id, name, version, commit), `environment`,
    `repository`, `provider`, `job` (id), `components` (a list of name, image, digest, tag and
    `ref`, the image by digest or else by tag), `images` (component name → `ref`), `targets`
    (name, type, host, port, labels) and `params` (the deploy's key=value params)."""
    components = [_component(component) for component in inputs.components]
    return {
        **job_values(inputs),
        "components": components,
        "images": {component["name"]: component["ref"] for component in components},
        "targets": _targets(inputs),
        "params": dict(sorted(inputs.params.items())),
    }
