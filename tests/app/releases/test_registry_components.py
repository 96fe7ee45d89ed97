"""A component's `registry:` against the real registry (Debian's docker-registry, htpasswd):
its digests are read through that integration (its endpoint and credential, its breaker), an
unknown one is named when the release fails, a missing tag is named with the tags nearest it,
and a registry matched by host signs in with its integration's credential."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from app.db.models.releases import ReleaseState
from app.integrations import catalogue as catalogue_module
from app.integrations import store as integrations
from app.integrations.registries.docker_registry import PROVIDER
from app.releases import store
from app.releases.config import ComponentSpec, ReleasesConfig
from app.releases.model import ComponentPin, Creator, ReleaseDraft, SourceRef
from app.releases.registries import add_registry, nearest_tags, tag_suggestions
from app.releases.service import create_release, finish_release
from app.releases.sources import draft_for_commit
from app.services import Services
from app.wiring import open_services
from tests.support.http import free_port
from tests.support.queue import RecordingQueue
from tests.support.registry import Registry, own_registry, push_image
from tests.support.settings import make_settings
from tests.support.steps import RecordingProvider

USERS = {"ci-bot": "correct horse battery"}
COMMIT = "1" * 40


@pytest.fixture(autouse=True)
def docker_registry_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub knows the docker-registry provider (whether or not it is listed yet)."""
    built = catalogue_module._built
    if PROVIDER.name not in {spec.name for spec in built()}:
        monkeypatch.setattr(catalogue_module, "_built", lambda: (*built(), PROVIDER))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with own_registry(tmp_path / "registry", users=USERS) as started:
        yield started


@asynccontextmanager
async def opened(url: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> AsyncIterator[Services]:
    monkeypatch.setenv("REGISTRY_LOGIN", "ci-bot:correct horse battery")
    settings = make_settings(url, SHIPYARD_INTEGRATION_BACKOFF="0", **env)
    host = RecordingProvider()
    async with open_services(settings, queue=RecordingQueue(), providers=lambda *_: host) as svc:
        yield svc


async def _integration(
    services: Services,
    name: str,
    endpoint: str,
    credential: str | None,
    repositories: tuple[str, ...] = ("acme/*",),
) -> None:
    await integrations.create_integration(
        services.sessions,
        services.settings,
        services.integrations.catalogue,
        name=name,
        type="registry",
        provider="docker-registry",
        config={"endpoint": endpoint, "retries": 0},
        credential_ref=credential,
        repositories=repositories,
    )


def _draft(*components: ComponentPin) -> ReleaseDraft:
    return ReleaseDraft(
        name="v1",
        version="1",
        source=SourceRef(provider="github", repository="acme/web", commit=COMMIT),
        components=components,
        creator=Creator(kind="cli", name="tester"),
    )


async def _finished(services: Services, draft: ReleaseDraft) -> Any:
    release = (await create_release(services, draft)).release
    await finish_release(services, 1, release.id or 0)
    done = await store.get_release(services.sessions, release.id or 0)
    assert done is not None
    return done


async def test_a_component_naming_its_registry_is_read_through_that_integration(
    migrated: str, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    pushed = await push_image(registry, "acme/web", "v1")
    async with opened(migrated, monkeypatch) as services:
        await _integration(services, "prod-registry", registry.url, "env://REGISTRY_LOGIN")
        # The image names a host nobody answers: the integration's endpoint is asked instead.
        web = ComponentPin(
            name="web", image="registry.invalid/acme/web", tag="v1", registry="prod-registry"
        )
        done = await _finished(services, _draft(web))
        breaker = services.integrations.breakers.state("prod-registry")
    assert done.state == ReleaseState.READY, done.error
    assert done.components == [
        {
            "name": "web",
            "image": "registry.invalid/acme/web",
            "digest": pushed.digest,
            "tag": "v1",
            "registry": "prod-registry",
        }
    ]
    assert breaker.position == "closed"


async def test_an_unknown_registry_integration_is_named_when_the_release_fails(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = ComponentPin(name="web", image="ghcr.io/acme/web", tag="v1", registry="no-such")
    async with opened(migrated, monkeypatch, SHIPYARD_RELEASE_IMAGE_WAIT="0") as services:
        done = await _finished(services, _draft(web))
    assert done.state == ReleaseState.FAILED
    assert done.error.startswith(
        "digest not resolved: component 'web': ghcr.io/acme/web:v1 could not be read: "
        "ghcr.io/acme/web:v1: INTEGRATION_NOT_FOUND: there is no integration 'no-such'"
    )
    assert done.components[0]["digest"] is None


async def test_a_registry_integration_not_granted_to_the_repository_is_refused(
    migrated: str, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    await push_image(registry, "acme/web", "v1")
    web = ComponentPin(
        name="web", image="registry.invalid/acme/web", tag="v1", registry="prod-registry"
    )
    async with opened(migrated, monkeypatch, SHIPYARD_RELEASE_IMAGE_WAIT="0") as services:
        await _integration(
            services, "prod-registry", registry.url, "env://REGISTRY_LOGIN", ("other/*",)
        )
        done = await _finished(services, _draft(web))
    assert done.state == ReleaseState.FAILED
    assert (
        "PERMISSION_DENIED: integration prod-registry: github:acme/web may not use it "
        "(its repositories: other/*" in done.error
    )


async def test_calls_to_a_registry_integration_pass_its_breaker(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = ComponentPin(name="web", image="ghcr.io/acme/web", tag="v1", registry="dead")
    async with opened(
        migrated, monkeypatch, SHIPYARD_RELEASE_IMAGE_WAIT="0", SHIPYARD_BREAKER_FAILURES="1"
    ) as services:
        await _integration(services, "dead", f"http://127.0.0.1:{free_port()}", None)
        first = await _finished(services, _draft(web))
        assert services.integrations.breakers.state("dead").position == "open"
        second = await _finished(
            services, _draft(web.model_copy(update={"tag": "v2"})).model_copy(update={"name": "v2"})
        )
    assert "CONNECTION_REFUSED: integration dead" in first.error
    assert "INTEGRATION_UNHEALTHY: integration dead: its circuit breaker is open" in second.error


async def test_a_missing_tag_is_named_with_the_nearest_the_registry_has(
    migrated: str, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    for tag in ("latest", "v1.0", "v1.1", "v1.2", "v2.0", "v2.1"):
        await push_image(registry, "acme/web", tag)
    web = ComponentPin(
        name="web", image="registry.invalid/acme/web", tag="v1.3", registry="prod-registry"
    )
    async with opened(migrated, monkeypatch, SHIPYARD_RELEASE_IMAGE_WAIT="0") as services:
        await _integration(services, "prod-registry", registry.url, "env://REGISTRY_LOGIN")
        done = await _finished(services, _draft(web))
    assert done.state == ReleaseState.FAILED
    assert done.error == (
        "digest not resolved: component 'web': registry.invalid/acme/web:v1.3 is not in "
        "registry prod-registry (tags it has: v1.2, v1.1, v1.0, v2.1, v2.0)"
    )


async def test_a_registry_matched_by_host_signs_in_with_its_integration(
    migrated: str, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    pushed = await push_image(registry, "acme/web", "v1")
    await push_image(registry, "acme/web", "v1.1")
    web = ComponentPin(name="web", image=f"{registry.host}/acme/web", tag="v1")
    async with opened(migrated, monkeypatch) as services:
        added = await add_registry(
            services.sessions, services.settings, registry.host, "env://REGISTRY_LOGIN"
        )
        done = await _finished(services, _draft(web))
        nearest = await tag_suggestions(services, f"{registry.host}/acme/web", "v1.2")
    assert added.config["endpoint"] == registry.url  # a loopback host: plain http, as Docker
    assert done.state == ReleaseState.READY, done.error
    assert done.components[0]["digest"] == pushed.digest
    assert "registry" not in done.components[0]
    assert nearest == ["v1.1", "v1"]


async def test_a_credential_that_cannot_be_read_is_named_not_shown(
    migrated: str, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    await push_image(registry, "acme/web", "v1")
    web = ComponentPin(name="web", image=f"{registry.host}/acme/web", tag="v1")
    async with opened(migrated, monkeypatch, SHIPYARD_RELEASE_IMAGE_WAIT="0") as services:
        await add_registry(services.sessions, services.settings, registry.host, "env://NOT_SET")
        done = await _finished(services, _draft(web))
    assert done.state == ReleaseState.FAILED
    assert "CREDENTIAL_FETCH_FAILED: env://NOT_SET" in done.error


def test_a_components_registry_is_carried_into_its_release() -> None:
    components = {
        "web": ComponentSpec(image="ghcr.io/acme/web", registry="prod-registry"),
        "worker": ComponentSpec(image="ghcr.io/acme/worker"),
    }
    draft = draft_for_commit(
        provider="github",
        repository="acme/web",
        components=components,
        config=ReleasesConfig(),
        creator=Creator(kind="cli", name="tester"),
        commit=COMMIT,
    )
    assert [(c.name, c.registry) for c in draft.components] == [
        ("web", "prod-registry"),
        ("worker", None),
    ]


@pytest.mark.parametrize(
    ("wanted", "tags", "nearest"),
    [
        ("v1.3", ["latest", "v1.0", "v1.1", "v2.0"], ["v1.1", "v1.0", "v2.0", "latest"]),
        ("v1.9", ["v1.8", "v1.10", "v1.2"], ["v1.8", "v1.2", "v1.10"]),
        ("x", ["v1.9", "v1.10", "v1.2"], ["v1.10", "v1.9", "v1.2"]),
        ("main-abc", ["main-abd", "main-xyz", "v1"], ["main-abd", "main-xyz", "v1"]),
        ("v1", [], []),
        ("v1", ["a", "b", "c", "d", "e", "f", "g"], ["g", "f", "e", "d", "c"]),
        ("v1", ["v1", "v1"], ["v1"]),
    ],
)
def test_the_nearest_tags(wanted: str, tags: list[str], nearest: list[str]) -> None:
    assert nearest_tags(wanted, tags) == nearest
