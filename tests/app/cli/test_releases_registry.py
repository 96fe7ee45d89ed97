"""`shipyard releases create` with a component whose `registry:` is a registry added with
`shipyard registries add`: the digest is read through that integration from the real registry
(Debian's docker-registry, htpasswd), and a tag it has not is shown with the nearest it has —
at once when a worker resolves it later (REDIS_URL: the real Redis), in the release's error
when it gives up here. GitHub is faked at its HTTP boundary."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import respx
from click.testing import CliRunner, Result

from app.cli import main
from app.integrations import catalogue as catalogue_module
from app.integrations.registries.docker_registry import PROVIDER, registry_name
from tests.support import services
from tests.support.registry import Registry, own_registry, push_image
from tests.support.releases import sha_of

API = "https://api.github.com/repos/acme/web"
LOGIN = "ci-bot:correct horse battery"
OLD, NEW = sha_of("old"), sha_of("new")


@pytest.fixture(autouse=True)
def docker_registry_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub knows the docker-registry provider (whether or not it is listed yet)."""
    built = catalogue_module._built
    if PROVIDER.name not in {spec.name for spec in built()}:
        monkeypatch.setattr(catalogue_module, "_built", lambda: (*built(), PROVIDER))


@pytest.fixture
def redis_db() -> Iterator[str]:
    """The real Redis, a database of these tests' own, emptied before and after."""
    url = services.require_redis().rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with own_registry(tmp_path / "registry", users={"ci-bot": "correct horse battery"}) as started:
        yield started


def _config(integration: str) -> str:
    return (
        "components:\n"
        f'  web: {{image: registry.invalid/acme/web, tag: "{{{{ tag }}}}", '
        f"registry: {integration}}}\n"
        'releases: {from: [{tag: ["v*"]}]}\n'
    )


@pytest.fixture
def github(registry: Registry) -> Iterator[respx.MockRouter]:
    """acme/web's config names the registry added for `registry`; the registry itself is
    reached for real."""
    text = _config(registry_name(registry.host))
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.get(API).respond(200, json={"default_branch": "main"})
        content = base64.b64encode(text.encode()).decode()
        mock.get(f"{API}/contents/.shipyard.yml", params={"ref": "main"}).respond(
            200, json={"type": "file", "encoding": "base64", "content": content}
        )
        mock.post(url__regex=rf"{API}/statuses/[0-9a-f]{{40}}").respond(201, json={})
        yield mock


def shipyard(migrated: str, *args: str, **env: str) -> Result:
    values = {
        "DATABASE_URL": migrated,
        "GITHUB_TOKEN": "ghp_cli",
        "SHIPYARD_PUBLIC_URL": "http://shipyard.test",
        "REDIS_URL": "",
        "LOGNAME": "alice",
        "REGISTRY_LOGIN": LOGIN,
        **env,
    }
    return CliRunner().invoke(main, list(args), env=values)


def _show(migrated: str, name: str) -> dict[str, Any]:
    shown = shipyard(migrated, "releases", "show", name, "--json")
    assert shown.exit_code == 0, shown.output
    found: dict[str, Any] = json.loads(shown.output)
    return found


def _add(migrated: str, registry: Registry) -> None:
    added = shipyard(migrated, "registries", "add", registry.host,
                     "--credential", "env://REGISTRY_LOGIN", "--repos", "acme/*")  # fmt: skip
    assert added.exit_code == 0, added.output


def test_a_component_is_read_through_its_registry_and_a_missing_tag_shows_the_nearest(
    migrated: str, registry: Registry, github: respx.MockRouter, redis_db: str
) -> None:
    pushed = asyncio.run(push_image(registry, "acme/web", "v1.1"))
    asyncio.run(push_image(registry, "acme/web", "v1.0"))
    _add(migrated, registry)

    made = shipyard(migrated, "releases", "create", "--repo", "acme/web", "--name", "v1.1",
                    "--commit", OLD, "--tag", "v1.1")  # fmt: skip
    assert made.exit_code == 0, made.output
    release = _show(migrated, "v1.1")
    assert release["state"] == "ready"
    assert release["components"] == [
        {
            "name": "web",
            "image": "registry.invalid/acme/web",
            "digest": pushed.digest,
            "tag": "v1.1",
            "registry": registry_name(registry.host),
        }
    ]

    # With a queue on Redis the command does not wait for a worker to resolve it.
    waiting = shipyard(migrated, "releases", "create", "--repo", "acme/web", "--name", "v1.2",
                       "--commit", NEW, "--tag", "v1.2", REDIS_URL=redis_db)  # fmt: skip
    assert waiting.exit_code == 0, waiting.output
    assert "— resolving" in waiting.output
    assert (
        "  web: its tag is not in the registry yet; the nearest it has: v1.1, v1.0"
        in waiting.output.splitlines()
    )
    assert "correct horse" not in waiting.output


def test_a_release_that_gives_up_names_the_nearest_tags_in_its_error(
    migrated: str, registry: Registry, github: respx.MockRouter
) -> None:
    asyncio.run(push_image(registry, "acme/web", "v2.0"))
    _add(migrated, registry)
    failed = shipyard(migrated, "releases", "create", "--repo", "acme/web", "--name", "v2.1",
                      "--commit", NEW, "--tag", "v2.1",
                      SHIPYARD_RELEASE_IMAGE_WAIT="0")  # fmt: skip
    assert failed.exit_code == 1, failed.output
    name = registry_name(registry.host)
    assert (
        f"error         digest not resolved: component 'web': registry.invalid/acme/web:v2.1 "
        f"is not in registry {name} (tags it has: v2.0)"
    ) in failed.output
