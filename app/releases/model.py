"""A release as Shipyard reasons about it, before and after it is stored (pure).

A release is an immutable, named set of component digests plus the source it came from. Two
requests for the same name are the same release when their content is the same: the same
commit, version and components (a component whose digest is still to be resolved from the
registry is compared by its image and tag). Who asked, and the build's metadata, are not
content: a tag push and the host release published for the same tag make one release, and
whichever came first is recorded as its creator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

__all__ = [
    "ComponentPin",
    "Creator",
    "ReleaseDraft",
    "SourceRef",
    "differences",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ComponentPin(_Frozen):
    """One component of a release: its image and the digest it pins (None until resolved);
    `registry`, the integration that resolves it, when its config names one."""

    name: str
    image: str
    digest: str | None = None
    tag: str | None = None
    registry: str | None = None

    @model_serializer(mode="wrap")
    def _registry_when_named(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A component that names no registry is stored as before there were any."""
        data: dict[str, Any] = handler(self)
        if data.get("registry") is None:
            data.pop("registry", None)
        return data


class SourceRef(_Frozen):
    provider: str
    repository: str
    commit: str | None = None
    tag: str | None = None
    branch: str | None = None
    url: str | None = None


class Creator(_Frozen):
    """Who or what made a release: a delivery, a service account, a CLI user."""

    kind: str  # "delivery", "service_account", "cli", "chatops"
    name: str  # the delivery's id, the account's name, the user's login
    delivery_pk: int | None = None


class ReleaseDraft(_Frozen):
    """What a request asks to be released."""

    name: str
    version: str
    source: SourceRef
    components: tuple[ComponentPin, ...] = ()
    metadata: Mapping[str, Any] = {}
    creator: Creator
    installation_id: int | None = None

    @property
    def resolved(self) -> bool:
        return all(component.digest for component in self.components)


def _content(
    version: str, commit: str | None, components: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    return {
        "version": version,
        "commit": commit,
        "components": sorted(
            ({key: c.get(key) for key in ("name", "image", "tag", "digest")} for c in components),
            key=lambda c: str(c["name"]),
        ),
    }


def differences(
    *,
    version: str,
    commit: str | None,
    components: Sequence[Mapping[str, Any]],
    draft: ReleaseDraft,
) -> list[str]:
    """How `draft` differs from the stored release (`version`, `commit`, `components`), one
    phrase each; [] when it is the same release. A draft component without a digest matches a
    stored one of the same image and tag, whatever digest that resolved to."""
    found: list[str] = []
    if version != draft.version:
        found.append(f"version is {version!r}, not {draft.version!r}")
    if (commit or None) != (draft.source.commit or None) and draft.source.commit:
        found.append(f"commit is {commit or 'none'}, not {draft.source.commit}")
    stored = {str(c.get("name")): c for c in components}
    asked = {c.name: c for c in draft.components}
    for name in sorted(stored.keys() - asked.keys()):
        found.append(f"component {name!r} is in the release, not in the request")
    for name in sorted(asked.keys() - stored.keys()):
        found.append(f"component {name!r} is in the request, not in the release")
    for name in sorted(asked.keys() & stored.keys()):
        have, want = stored[name], asked[name]
        if have.get("image") != want.image:
            found.append(f"component {name!r} image is {have.get('image')}, not {want.image}")
        elif want.digest is not None and have.get("digest") not in (None, want.digest):
            found.append(f"component {name!r} digest is {have.get('digest')}, not {want.digest}")
        elif want.digest is None and want.tag is not None and have.get("tag") != want.tag:
            found.append(f"component {name!r} tag is {have.get('tag')}, not {want.tag}")
    return found
