"""`shipyard registries add|list|remove`: a registry is a `docker-registry` integration named
after its host, with a server-side reference to its credential; a literal credential, or one of
Shipyard's own, is refused without being repeated, and the value a reference names is never
printed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.db.engine import create_engine, session_factory
from app.integrations import store
from app.integrations.model import Integration
from app.integrations.registries.docker_registry import PROVIDER
from tests.support.settings import make_settings

VALUE = "robot:registry-password-value"


@pytest.fixture
def shipyard(migrated: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REGISTRY_CREDENTIAL", VALUE)
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args))


async def _integrations(url: str) -> list[Integration]:
    engine = create_engine(make_settings(url))
    try:
        return await store.list_integrations(session_factory(engine))
    finally:
        await engine.dispose()


def integrations(url: str) -> list[Integration]:
    """What the database holds (the CLI runs its own event loop: these tests have none)."""
    return asyncio.run(_integrations(url))


async def _create(url: str, **fields: Any) -> None:
    settings = make_settings(url)
    engine = create_engine(settings)
    try:
        await store.create_integration(
            session_factory(engine), settings, {PROVIDER.name: PROVIDER}, **fields
        )
    finally:
        await engine.dispose()


def test_add_list_remove(shipyard: CliRunner, migrated: str) -> None:
    added = run(shipyard, "registries", "add", "Registry.Example.com:5000",
                "--credential", "env://REGISTRY_CREDENTIAL")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output == (
        "added registry registry.example.com:5000 (integration registry.example.com-5000), "
        "read signing in with env://REGISTRY_CREDENTIAL\n"
    )
    local = run(shipyard, "registries", "add", "localhost:5001", "--plain-http",
                "--repos", "acme/*", "--repos", "gitlab:group/**")  # fmt: skip
    assert local.exit_code == 0, local.output
    assert "(integration localhost-5001), read anonymously over plain http" in local.output

    stored = {i.name: i for i in integrations(migrated)}
    assert set(stored) == {"localhost-5001", "registry.example.com-5000"}
    remote, plain = stored["registry.example.com-5000"], stored["localhost-5001"]
    assert (remote.type, remote.provider) == ("registry", "docker-registry")
    assert remote.config["endpoint"] == "https://registry.example.com:5000"
    assert remote.credential_ref == "env://REGISTRY_CREDENTIAL"
    assert plain.config["endpoint"] == "http://localhost:5001"
    assert plain.credential_ref is None
    assert (plain.repositories, remote.repositories) == (("acme/*", "gitlab:group/**"), ())

    listed = run(shipyard, "registries", "list")
    assert listed.output.splitlines() == [
        "localhost:5001  (anonymous)  plain http  integration localhost-5001 (unknown)  "
        "repos acme/*,gitlab:group/**",
        "registry.example.com:5000  env://REGISTRY_CREDENTIAL  "
        "integration registry.example.com-5000 (unknown)",
    ]
    assert VALUE not in listed.output + added.output

    twice = run(shipyard, "registries", "add", "registry.example.com:5000",
                "--credential", "file:///etc/registry-credential")  # fmt: skip
    assert twice.exit_code == 1
    assert "already added" in twice.output
    assert "shipyard registries remove registry.example.com:5000" in twice.output

    assert run(shipyard, "registries", "remove", "REGISTRY.example.com:5000").exit_code == 0
    gone = run(shipyard, "registries", "remove", "localhost-5001")  # by the integration's name
    assert gone.exit_code == 0, gone.output
    assert gone.output == "removed registry localhost-5001 (integration localhost-5001)\n"
    assert "no registries are added" in run(shipyard, "registries", "list").output
    assert integrations(migrated) == []
    again = run(shipyard, "registries", "remove", "localhost:5001")
    assert again.exit_code == 1
    assert "there is no registry localhost:5001" in again.output


def test_a_registry_made_as_an_integration_is_listed_and_not_added_twice(
    shipyard: CliRunner, migrated: str
) -> None:
    asyncio.run(
        _create(
            migrated,
            name="prod-registry",
            type="registry",
            provider="docker-registry",
            config={"endpoint": "https://ghcr.io"},
            credential_ref="env://REGISTRY_CREDENTIAL",
        )
    )
    listed = run(shipyard, "registries", "list")
    assert listed.output == (
        "ghcr.io  env://REGISTRY_CREDENTIAL  integration prod-registry (unknown)\n"
    )
    twice = run(shipyard, "registries", "add", "ghcr.io")
    assert twice.exit_code == 1
    assert "registry ghcr.io is already added (integration prod-registry)" in twice.output
    removed = run(shipyard, "registries", "remove", "ghcr.io")
    assert removed.output == "removed registry ghcr.io (integration prod-registry)\n"


def test_a_repository_glob_is_checked(shipyard: CliRunner) -> None:
    result = run(shipyard, "registries", "add", "ghcr.io", "--repos", "acme")
    assert result.exit_code == 1
    assert "repositories: 'acme' is not a repository glob" in result.output
    assert "no registries are added" in run(shipyard, "registries", "list").output


def test_a_vault_reference_names_a_secrets_integration(shipyard: CliRunner) -> None:
    result = run(shipyard, "registries", "add", "ghcr.io",
                 "--credential", "vault://prod-vault/registry#password")  # fmt: skip
    assert result.exit_code == 1
    assert "names no secrets integration 'prod-vault'" in result.output
    assert "Traceback" not in result.output
    assert "no registries are added" in run(shipyard, "registries", "list").output


@pytest.mark.parametrize(
    ("credential", "says"),
    [
        (VALUE, "a literal value"),
        ("secret://REGISTRY", "secret:// is not accepted here"),
        ("env://GITHUB_TOKEN", "one of Shipyard's own settings"),
        ("env://not a name", "env:// must be followed by an environment variable name"),
        ("file://relative/path", "file:// must be followed by an absolute path"),
        ("vault://no-key/path", "vault:// must name an integration, a path and a key"),
    ],
)
def test_a_credential_must_be_a_server_side_reference(
    shipyard: CliRunner, credential: str, says: str
) -> None:
    result = run(shipyard, "registries", "add", "ghcr.io", "--credential", credential)
    assert result.exit_code == 1
    assert says in result.output
    assert VALUE not in result.output
    assert "Traceback" not in result.output
    assert "no registries are added" in run(shipyard, "registries", "list").output


@pytest.mark.parametrize("host", ["https://ghcr.io", "ghcr.io/acme", "", "bad-.io", "ghcr.io:port"])
def test_a_host_is_a_host(shipyard: CliRunner, host: str) -> None:
    result = run(shipyard, "registries", "add", host)
    assert result.exit_code == 2
    assert "is not a registry host" in result.output
