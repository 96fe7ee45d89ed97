"""A container registry's notification to an Event: one event of the CNCF distribution
registry's envelope (`docker-registry`, Harbor, GitLab's registry send its shape).

Only a tagged push of a manifest or an index is kind `package`: the image a release can pin.
Blob pushes (the layers of every image), pulls, deletes, mounts and pushes by digest alone
are kind `other`, their `package` still filled in for whoever looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.bounds import NAME_MAX, REPOSITORY_MAX
from providers.events import Actor, Event, EventKind, Package
from providers.normalise._fields import Obj
from providers.normalise._parts import url_host

__all__ = ["PACKAGE_MEDIA_TYPES", "normalise_registry"]

PACKAGE_MEDIA_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    }
)


def normalise_registry(
    provider: str, event_name: str, payload: Mapping[str, Any], delivery_id: str
) -> Event:
    """`event_name` is the event's `action`, as the intake stored it."""
    p = Obj.root(payload, provider, event_name)
    action = p.action()
    target = p.obj("target")
    package = Package(
        host=p.obj("request").string("host") or url_host(target.url("url")),
        image=target.string("repository", limit=REPOSITORY_MAX),
        tag=target.string("tag", limit=NAME_MAX) or None,
        digest=target.digest("digest"),
        media_type=target.string("mediaType"),
        action=action,
    )
    pushed = action == "push" and package.media_type in PACKAGE_MEDIA_TYPES and package.tag
    actor = p.obj("actor").string("name")
    return Event(
        provider=provider,
        delivery_id=delivery_id,
        kind=EventKind.PACKAGE if pushed else EventKind.OTHER,
        name=event_name,
        action=action,
        actor=Actor(login=actor) if actor else None,
        package=package,
    )
