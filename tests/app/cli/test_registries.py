"""`shipyard registries add|list|remove`: a registry is a host and a server-side reference to
its credential; a literal credential, or one of Shipyard's own, is refused without being
repeated, and the value a reference names is never printed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from app.cli import main

VALUE = "robot:registry-password-value"


@pytest.fixture
def shipyard(migrated: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REGISTRY_CREDENTIAL", VALUE)
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args))


def test_add_list_remove(shipyard: CliRunner) -> None:
    added = run(shipyard, "registries", "add", "Registry.Example.com:5000",
                "--credential", "env://REGISTRY_CREDENTIAL")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "added registry registry.example.com:5000, read signing in with" in added.output
    local = run(shipyard, "registries", "add", "localhost:5001", "--plain-http")
    assert local.exit_code == 0, local.output
    assert "anonymously over plain http" in local.output

    listed = run(shipyard, "registries", "list")
    assert listed.output.splitlines() == [
        "localhost:5001  (anonymous)  plain http",
        "registry.example.com:5000  env://REGISTRY_CREDENTIAL",
    ]
    assert VALUE not in listed.output + added.output

    twice = run(shipyard, "registries", "add", "registry.example.com:5000",
                "--credential", "file:///etc/registry-credential")  # fmt: skip
    assert twice.exit_code == 1
    assert "already added" in twice.output
    assert "shipyard registries remove registry.example.com:5000" in twice.output

    assert run(shipyard, "registries", "remove", "REGISTRY.example.com:5000").exit_code == 0
    assert run(shipyard, "registries", "remove", "localhost:5001").exit_code == 0
    assert "no registries are added" in run(shipyard, "registries", "list").output
    again = run(shipyard, "registries", "remove", "localhost:5001")
    assert again.exit_code == 1
    assert "there is no registry localhost:5001" in again.output


@pytest.mark.parametrize(
    ("credential", "says"),
    [
        (VALUE, "a literal value"),
        ("secret://REGISTRY", "secret:// is not accepted here"),
        ("vault://prod/registry#password", "vault:// is not accepted here"),
        ("env://GITHUB_TOKEN", "one of Shipyard's own settings"),
        ("env://not a name", "env:// must be followed by an environment variable name"),
        ("file://relative/path", "file:// must be followed by an absolute path"),
    ],
)
def test_a_credential_must_be_an_env_or_file_reference(
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
