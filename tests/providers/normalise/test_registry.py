"""A container registry's notification events to Events, from events a real docker-registry
sent (tests/samples/registry, captured from tests/support/registry.py's registry)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from providers.events import Actor, Event, EventKind, Package
from providers.normalise import PayloadShapeError, normalise
from tests.support.bounds import changed
from tests.support.samples import load_sample, sample_names
from tests.support.shapes import OddShapes

HOST = "127.0.0.1:48227"
DOCKER_DIGEST = "sha256:ff8910c2005dc2c65d104079c67d226821b0d65455f6ed81ba7150ccfefd1646"
OCI_DIGEST = "sha256:e096e0c7e841875b3bdf3b6c9f66bfa8b1009cb83cc21122e4dc07a8db361029"
BLOB_DIGEST = "sha256:4f128ef1cbf47e45f99985053b380443193a0026648eccc8f63235d9cbf9018b"
DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
OCI = "application/vnd.oci.image.manifest.v1+json"
CI_BOT = Actor(login="ci-bot")

# Each sample and the action it is stored with (its event name).
SAMPLE_EVENTS = {
    "push-manifest": "push",
    "push-oci-manifest": "push",
    "push-blob": "push",
    "pull-manifest": "pull",
    "delete-manifest": "delete",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_sample("registry", name)
    return data


def registry(payload: Any, event_name: str = "push") -> Event:
    return normalise("registry", event_name, payload, delivery_id="e-1")


def test_every_sample_is_listed() -> None:
    assert sample_names("registry") == sorted([*SAMPLE_EVENTS, "envelope"])


@pytest.mark.parametrize(
    ("sample", "kind", "package"),
    [
        (
            "push-manifest",
            EventKind.PACKAGE,
            Package(
                host=HOST,
                image="acme/web",
                tag="1.0",
                digest=DOCKER_DIGEST,
                media_type=DOCKER,
                action="push",
            ),
        ),
        (
            "push-oci-manifest",
            EventKind.PACKAGE,
            Package(
                host=HOST,
                image="acme/web",
                tag="2.0",
                digest=OCI_DIGEST,
                media_type=OCI,
                action="push",
            ),
        ),
        (
            "push-blob",
            EventKind.OTHER,
            Package(
                host=HOST,
                image="acme/web",
                digest=BLOB_DIGEST,
                media_type="application/octet-stream",
                action="push",
            ),
        ),
        (
            "pull-manifest",
            EventKind.OTHER,
            Package(
                host=HOST,
                image="acme/web",
                tag="1.0",
                digest=DOCKER_DIGEST,
                media_type=DOCKER,
                action="pull",
            ),
        ),
        (
            "delete-manifest",
            EventKind.OTHER,
            Package(host=HOST, image="acme/web", digest=OCI_DIGEST, action="delete"),
        ),
    ],
)
def test_a_real_registry_event(sample: str, kind: EventKind, package: Package) -> None:
    action = SAMPLE_EVENTS[sample]
    assert registry(load(sample), action) == Event(
        provider="registry",
        delivery_id="e-1",
        kind=kind,
        name=action,
        action=action,
        actor=CI_BOT,
        package=package,
    )


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ],
)
def test_a_tagged_push_of_a_manifest_or_an_index_is_a_package(media_type: str) -> None:
    event = registry(changed(load("push-manifest"), **{"target__mediaType": media_type}))
    assert event.kind is EventKind.PACKAGE
    assert event.package is not None
    assert event.package.media_type == media_type


@pytest.mark.parametrize(
    "changes",
    [
        {"target__tag": None},  # a push by digest alone
        {"target__tag": ""},
        {"target__mediaType": "application/vnd.docker.container.image.v1+json"},
        {"target__mediaType": None},
        {"action": "mount"},
        {"action": "pull"},
    ],
)
def test_anything_but_a_tagged_manifest_push_is_other(changes: dict[str, Any]) -> None:
    assert registry(changed(load("push-manifest"), **changes)).kind is EventKind.OTHER


def test_without_its_request_the_host_is_the_targets_url() -> None:
    event = registry(changed(load("push-manifest"), request=None))
    assert event.package is not None
    assert event.package.host == HOST


def test_an_anonymous_push_has_no_actor() -> None:
    payload = changed(load("push-manifest"), actor={})
    assert registry(payload).actor is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"target__digest": "sha256:abc\x00"}, "payload.target.digest"),
        ({"target__digest": "not a digest"}, "payload.target.digest"),
        ({"target__repository": "a" * 301}, "payload.target.repository"),
        ({"target__tag": "t" * 256}, "payload.target.tag"),
        ({"request__host": "host\nname"}, "payload.request.host"),
        ({"target": "nope"}, "payload.target"),
    ],
)
def test_what_no_column_could_keep_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadShapeError, match=f"registry 'push' payload: {re.escape(field)}"):
        registry(changed(load("push-manifest"), **changes))


SHAPES = OddShapes("registry", SAMPLE_EVENTS, ["push", "pull", "delete", "mount"], load)


def test_odd_value_at_any_field_gives_an_event_or_a_shape_error() -> None:
    SHAPES.check_odd_value_at_any_field()


def test_random_objects_give_an_event_or_a_shape_error() -> None:
    SHAPES.check_random_objects()
