"""Which events make a release and what it is asked to be: a table over every source."""

from __future__ import annotations

from typing import Any

import pytest

from app.features import parse_config
from app.releases.config import components_of, releases_of
from app.releases.model import ComponentPin, Creator
from app.releases.sources import PlanError, Planned, image_matches, plan_release, version_of
from providers.events import Event, EventKind, Package, Pipeline, Release, Repository

SHA = "a" * 40
CONFIG = """
components:
  web:    {image: registry.example.com/acme/web, tag: "{{ short_sha }}"}
  worker: {image: registry.example.com/acme/worker, tag: "{{ version }}"}
releases:
  name: "{{ repo.name }}-{{ tag or short_sha }}"
  from:
    - tag: ["v*"]
    - release: [published]
    - registry: {component: web, tags: ["v*"]}
    - ci: {status: [success], branches: [main]}
"""
CREATOR = Creator(kind="delivery", name="d-1", delivery_pk=7)


def _event(kind: EventKind, **fields: Any) -> Event:
    defaults: dict[str, Any] = {
        "provider": "github",
        "delivery_id": "d-1",
        "name": kind.value,
        "repository": Repository(full_name="acme/web", web_url="https://github.com/acme/web"),
    }
    return Event(kind=kind, **(defaults | fields))


def _plan(event: Event, text: str = CONFIG, commit: str | None = None) -> Planned | None:
    config = parse_config(text)
    return plan_release(
        event,
        components=components_of(config),
        config=releases_of(config),
        provider="github",
        repository="acme/web",
        creator=CREATOR,
        commit=commit,
    )


def _ci(**pipeline: Any) -> Event:
    fields = {"status": "success", "from_fork": False, "id": 9, "url": "https://ci/9"} | pipeline
    return _event(
        EventKind.PIPELINE, name="workflow_run", branch="main", sha=SHA, pipeline=Pipeline(**fields)
    )


def test_a_tag_push_asks_each_component_at_its_tag_template() -> None:
    planned = _plan(_event(EventKind.TAG, tag="v1.2.0", sha=SHA, ref="refs/tags/v1.2.0"))
    assert planned is not None
    assert planned.rule == "tag"
    draft = planned.draft
    assert (draft.name, draft.version) == ("web-v1.2.0", "1.2.0")
    assert draft.components == (
        ComponentPin(name="web", image="registry.example.com/acme/web", tag=SHA[:12]),
        ComponentPin(name="worker", image="registry.example.com/acme/worker", tag="1.2.0"),
    )
    assert draft.source.commit == SHA
    assert draft.source.tag == "v1.2.0"
    assert draft.source.url == "https://github.com/acme/web/tree/v1.2.0"
    assert draft.creator == CREATOR
    assert not draft.resolved


def test_a_tag_and_the_host_release_of_it_plan_the_same_release() -> None:
    tag = _plan(_event(EventKind.TAG, tag="v2", sha=SHA))
    release = _plan(
        _event(EventKind.RELEASE, action="published", tag="v2", release=Release(tag="v2")),
        commit=SHA,
    )
    assert tag is not None
    assert release is not None
    assert release.rule == "release"
    assert tag.draft.model_dump(exclude={"metadata"}) == release.draft.model_dump(
        exclude={"metadata"}
    )


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (_event(EventKind.TAG, tag="nightly", sha=SHA), "tag not matching v*"),
        (_event(EventKind.TAG, tag="v1", sha=None, action="deleted"), "a deleted tag"),
        (
            _event(
                EventKind.RELEASE,
                action="published",
                tag="v1",
                release=Release(tag="v1", draft=True),
            ),
            "a draft release",
        ),
        (_event(EventKind.RELEASE, action="deleted", tag="v1"), "a deleted release"),
        (_ci(from_fork=True), "a fork's run on main"),
        (_ci(from_fork=None), "a run the payload cannot place"),
        (_ci(status="failure"), "a failed run"),
        (_ci(status="in_progress"), "a run still going"),
        (_event(EventKind.PUSH, branch="main", sha=SHA), "a push"),
    ],
)
def test_what_makes_no_release(event: Event, why: str) -> None:
    assert _plan(event) is None, why


def test_a_ci_run_on_a_tag_from_elsewhere_makes_none() -> None:
    run = _ci(head_repository="mallory/web", from_fork=True)
    assert _plan(run.model_copy(update={"branch": "v1.0.0"})) is None


def test_the_repositorys_own_ci_run_on_main() -> None:
    planned = _plan(_ci())
    assert planned is not None
    assert planned.rule == "ci"
    assert planned.draft.name == f"web-{SHA[:12]}"
    assert planned.draft.metadata["build_id"] == "9"
    assert planned.draft.metadata["build_url"] == "https://ci/9"


def test_a_registry_push_pins_its_digest_and_asks_the_rest_at_its_tag() -> None:
    digest = "sha256:" + "b" * 64
    package = Package(
        host="registry.example.com", image="acme/web", tag="v3", digest=digest, action="push"
    )
    planned = _plan(
        _event(EventKind.PACKAGE, provider="registry", repository=None, package=package)
    )
    assert planned is not None
    assert planned.rule == "registry"
    assert planned.draft.components == (
        ComponentPin(name="web", image="registry.example.com/acme/web", digest=digest, tag="v3"),
        ComponentPin(name="worker", image="registry.example.com/acme/worker", tag="v3"),
    )
    assert planned.draft.source.provider == "github"
    other = package.model_copy(update={"image": "acme/worker"})
    assert _plan(_event(EventKind.PACKAGE, package=other)) is None  # no rule for worker
    untagged = package.model_copy(update={"tag": "latest"})
    assert _plan(_event(EventKind.PACKAGE, package=untagged)) is None


def test_without_components_a_release_pins_the_commit() -> None:
    planned = _plan(_event(EventKind.TAG, tag="v1", sha=SHA), "releases: {from: [tag: ]}")
    assert planned is not None
    assert planned.draft.components == ()
    assert planned.draft.resolved
    assert planned.draft.name == "v1"  # the default name: the tag


def test_a_template_that_renders_empty_is_a_plan_error() -> None:
    text = "releases:\n  name: '{{ pull_request.title }}'\n  from: [tag: ]\n"
    with pytest.raises(PlanError, match=r"releases\.name rendered empty"):
        _plan(_event(EventKind.TAG, tag="v1", sha=SHA), text)


@pytest.mark.parametrize(
    ("tag", "commit", "version"),
    [
        ("v1.2.3", None, "1.2.3"),
        ("version-2", None, "version-2"),
        (None, SHA, SHA[:12]),
        ("vNext", None, "vNext"),
    ],
)
def test_versions(tag: str | None, commit: str | None, version: str) -> None:
    assert version_of(tag, commit) == version


@pytest.mark.parametrize(
    ("declared", "pushed", "same"),
    [
        ("registry.example.com/acme/web", "registry.example.com/acme/web", True),
        ("registry.example.com/acme/web", "registry.example.com/acme/api", False),
        ("docker.io/acme/web", "registry-1.docker.io/acme/web", True),
        ("docker.io/nginx", "index.docker.io/library/nginx", True),
        ("ghcr.io/Acme/web", "ghcr.io/acme/web", True),
    ],
)
def test_image_names(declared: str, pushed: str, same: bool) -> None:
    assert image_matches(declared, pushed) is same


def test_a_push_that_does_not_say_its_digest_has_it_read_later() -> None:
    """Gitea's package events name the tag, not the digest."""
    package = Package(host="registry.example.com", image="acme/web", tag="v4", action="push")
    planned = _plan(_event(EventKind.PACKAGE, package=package))
    assert planned is not None
    assert planned.draft.components[0] == ComponentPin(
        name="web", image="registry.example.com/acme/web", tag="v4"
    )
    assert not planned.draft.resolved
