"""The docker-registry provider against the real CNCF registry (Debian's docker-registry, with
htpasswd basic auth), through the hub: its three checks and the health they add up to, discovery
of repositories and tags (filtered, cached), a digest resolved, and what it refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.db.engine import create_engine, session_factory
from app.integrations import store
from app.integrations.connector import Connector
from app.integrations.errors import IntegrationError
from app.integrations.hub import Hub
from app.integrations.registries.docker_registry import PROVIDER, ImageRegistry
from app.secrets.definitions import forbidden_variables
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets
from app.settings import Settings
from tests.support.http import free_port
from tests.support.registry import Registry, own_registry, push_image
from tests.support.settings import make_settings

USERS = {"ci-bot": "correct horse battery"}
CATALOGUE = {PROVIDER.name: PROVIDER}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with own_registry(tmp_path / "registry", users=USERS) as started:
        yield started


@pytest.fixture
def settings(migrated: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REGISTRY_LOGIN", "ci-bot:correct horse battery")
    monkeypatch.setenv("REGISTRY_WRONG", "ci-bot:not the password")
    return make_settings(migrated)  # its environment snapshot has both


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    engine = create_engine(settings)
    async with httpx.AsyncClient(timeout=10) as http:
        yield Hub(
            sessions=session_factory(engine),
            http=http,
            secrets=Secrets.from_environ(
                settings.environ, forbidden_variables=forbidden_variables(settings)
            ),
            mask=Masker(),
            catalogue=CATALOGUE,
            backoff_seconds=0.0,
        )
    await engine.dispose()


async def _add(
    hub: Hub, settings: Settings, name: str, endpoint: str, credential: str | None
) -> None:
    await store.create_integration(
        hub.sessions,
        settings,
        CATALOGUE,
        name=name,
        type="registry",
        provider="docker-registry",
        config={"endpoint": endpoint, "retries": 0},
        credential_ref=credential,
    )


async def test_a_registry_that_lets_the_credential_in_is_healthy(
    hub: Hub, settings: Settings, registry: Registry
) -> None:
    await push_image(registry, "acme/web", "v1")
    await _add(hub, settings, "local", registry.url, "env://REGISTRY_LOGIN")

    report = await hub.test("local")

    assert [(r.level, r.ok, r.code) for r in report.results] == [
        ("connectivity", True, None),
        ("authentication", True, None),
        ("functionality", True, None),
    ]
    messages = [r.message for r in report.results]
    assert messages == [
        f"{registry.url}/v2/ answers, asking for basic sign-in",
        "signed in with basic auth",
        "the catalog reads (it lists repositories)",
    ]
    assert report.health == "healthy"
    stored = await hub.integration("local")
    assert (stored.health, stored.health_message) == ("healthy", "ok")


async def test_a_wrong_password_fails_authentication_and_makes_it_unhealthy(
    hub: Hub, settings: Settings, registry: Registry
) -> None:
    await _add(hub, settings, "local", registry.url, "env://REGISTRY_WRONG")

    report = await hub.test("local")

    results = {r.level: r for r in report.results}
    assert results["connectivity"].ok
    assert results["authentication"].code == "AUTHENTICATION_FAILED"
    assert results["authentication"].message == (
        f"{registry.host}: {registry.host} refused the credential Shipyard has for it"
    )
    assert results["functionality"].code == "AUTHENTICATION_FAILED"
    assert report.health == "unhealthy"
    stored = await hub.integration("local")
    assert stored.health == "unhealthy"
    assert "not the password" not in str(stored.as_json())


async def test_without_a_credential_a_locked_registry_fails_authentication(
    hub: Hub, settings: Settings, registry: Registry
) -> None:
    await _add(hub, settings, "local", registry.url, None)
    report = await hub.test("local", ("authentication",))
    [result] = report.results
    assert result.code == "AUTHENTICATION_FAILED"
    assert "asks for a login and Shipyard has no credential for it" in result.message


async def test_an_open_registry_answers_without_a_sign_in(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    with own_registry(tmp_path / "open") as open_registry:
        await _add(hub, settings, "open", open_registry.url, None)
        report = await hub.test("open")
    assert [r.message for r in report.results] == [
        f"{open_registry.url}/v2/ answers without asking for a sign-in",
        "the registry lets anyone in at /v2/ (the integration has no credential)",
        "the catalog reads (it is empty)",
    ]
    assert report.health == "healthy"


async def test_a_registry_nobody_answers_is_unhealthy(hub: Hub, settings: Settings) -> None:
    await _add(hub, settings, "gone", f"http://127.0.0.1:{free_port()}", None)
    report = await hub.test("gone")
    assert [(r.level, r.ok, r.code) for r in report.results] == [
        ("connectivity", False, "CONNECTION_REFUSED"),
        ("authentication", False, "CONNECTION_REFUSED"),
        ("functionality", False, "CONNECTION_REFUSED"),
    ]
    assert report.results[1].message == "not checked: it cannot be reached"
    assert report.health == "unhealthy"


async def test_repositories_are_discovered_filtered_and_cached(
    hub: Hub, settings: Settings, registry: Registry
) -> None:
    for name in ("acme/web", "acme/worker", "other/api"):
        await push_image(registry, name, "v1")
    await _add(hub, settings, "local", registry.url, "env://REGISTRY_LOGIN")

    found = await hub.discover("local", "repositories", pattern="acme/*")
    assert [r.name for r in found.resources] == ["acme/web", "acme/worker"]
    assert found.resources[0].as_json() == {
        "type": "repository",
        "name": "acme/web",
        "id": "acme/web",
        "url": None,
        "details": {"image": f"{registry.host}/acme/web"},
    }
    assert not found.cached
    assert found.expires_in == pytest.approx(3600, abs=5)

    await push_image(registry, "acme/api", "v1")  # not seen until the cache expires
    again = await hub.discover("local", "repositories", pattern="acme/*")
    assert again.cached
    assert [r.name for r in again.resources] == ["acme/web", "acme/worker"]
    everything = await hub.discover("local", "repositories")  # the same cached answer
    assert [r.name for r in everything.resources] == ["acme/web", "acme/worker", "other/api"]

    fresh = await hub.discover("local", "repositories", pattern="acme", fresh=True)
    assert [r.name for r in fresh.resources] == ["acme/api", "acme/web", "acme/worker"]
    assert not fresh.cached


async def test_tags_of_a_repository_are_discovered(
    hub: Hub, settings: Settings, registry: Registry
) -> None:
    for tag in ("v1.0", "v1.1", "latest"):
        await push_image(registry, "acme/web", tag)
    await _add(hub, settings, "local", registry.url, "env://REGISTRY_LOGIN")

    found = await hub.discover("local", "tags", scope={"repository": "acme/web"}, pattern="v1*")
    assert sorted(r.name for r in found.resources) == ["v1.0", "v1.1"]
    assert found.resources[0].details == {
        "repository": "acme/web",
        "image": f"{registry.host}/acme/web",
    }
    assert found.expires_in == pytest.approx(300, abs=5)
    by_image = await hub.discover(
        "local", "tags", scope={"repository": f"{registry.host}/acme/web"}
    )
    assert sorted(r.name for r in by_image.resources) == ["latest", "v1.0", "v1.1"]

    with pytest.raises(IntegrationError) as missing:
        await hub.discover("local", "tags", scope={"repository": "acme/nothing"})
    assert missing.value.code == "RESOURCE_NOT_FOUND"
    assert "the registry has no such repository" in str(missing.value)

    with pytest.raises(IntegrationError) as unscoped:
        await hub.discover("local", "tags")
    assert unscoped.value.code == "INVALID_CONFIG"
    assert "discovering tags needs the repository they are of" in str(unscoped.value)


async def test_a_digest_is_resolved_through_the_hub(
    hub: Hub, settings: Settings, registry: Registry
) -> None:
    pushed = await push_image(registry, "acme/web", "v1")
    await _add(hub, settings, "local", registry.url, "env://REGISTRY_LOGIN")

    async def digest(connector: Connector) -> str:
        assert isinstance(connector, ImageRegistry)
        return await connector.manifest_digest("acme/web", "v1")

    assert await hub.call("local", digest, type="registry") == pushed.digest

    async def absent(connector: Connector) -> str:
        assert isinstance(connector, ImageRegistry)
        return await connector.manifest_digest("acme/web", "v9")

    with pytest.raises(IntegrationError) as raised:
        await hub.call("local", absent, type="registry")
    assert raised.value.code == "RESOURCE_NOT_FOUND"
    assert str(raised.value) == (
        f"RESOURCE_NOT_FOUND: integration local: {registry.host}/acme/web:v9: "
        "the registry has no such image or tag"
    )
    assert hub.breakers.state("local").position == "closed"


async def test_a_resource_type_it_does_not_have_is_unsupported(
    hub: Hub, settings: Settings, registry: Registry
) -> None:
    await _add(hub, settings, "local", registry.url, "env://REGISTRY_LOGIN")
    with pytest.raises(IntegrationError) as raised:
        await hub.discover("local", "channels")
    assert raised.value.code == "UNSUPPORTED"
    assert str(raised.value) == (
        "UNSUPPORTED: integration local: docker-registry cannot discover 'channels' "
        "(it discovers: repositories, tags)"
    )
