"""What artifact generators take and give (pure): a job's values in, a file's bytes and their
sha256 out. Generators do no I/O: templates a repository provides are read before (at its
default branch) and handed in by path."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Artifact", "ArtifactError", "ArtifactInputs", "ComponentView", "TargetView"]


class ArtifactError(ValueError):
    """An artifact cannot be generated (a template that does not render, a template file the
    repository lacks); the message says which and why."""


@dataclass(frozen=True)
class ComponentView:
    """A release's component: its image, the digest it pins (None for a release that pins only
    its commit), and the tag it came from."""

    name: str
    image: str
    digest: str | None
    tag: str | None = None


@dataclass(frozen=True)
class TargetView:
    """A target as generated files may name it (no credential)."""

    name: str
    type: str
    host: str | None = None
    port: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ArtifactInputs:
    """Everything a generator may use."""

    provider: str
    repository: str
    environment: str
    release_id: int
    release_name: str
    release_version: str
    commit: str | None
    components: Sequence[ComponentView]
    targets: Sequence[TargetView]
    job_id: int
    templates: Mapping[str, str] = field(default_factory=dict)  # repo path → text
    params: Mapping[str, str] = field(default_factory=dict)  # a deploy's key=value params


@dataclass(frozen=True)
class Artifact:
    """A generated file: which kind, its file name, its bytes as stored (a secret as its
    reference) and their sha256 (hex)."""

    name: str
    filename: str
    content: bytes
    sha256: str

    @classmethod
    def of(cls, name: str, filename: str, content: bytes) -> Artifact:
        return cls(name, filename, content, hashlib.sha256(content).hexdigest())
