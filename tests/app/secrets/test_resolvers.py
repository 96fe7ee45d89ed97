"""Secret references resolved: env:// reads the environment Shipyard started with, vault:// and
secret:// say what is not built yet, literal secrets are refused; what resolves is masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.secrets import Masker, SecretError, Secrets


async def resolve(ref: str, environ: dict[str, str] | None = None) -> str:
    return await Secrets.from_environ(environ or {}).for_repository(Masker()).resolve(ref)


async def test_env_reference_reads_the_given_environment() -> None:
    assert await resolve("env://SLACK_URL", {"SLACK_URL": "https://hooks.example/T/B/x"}) == (
        "https://hooks.example/T/B/x"
    )


async def test_the_environment_is_the_one_the_settings_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.settings import Settings

    monkeypatch.setenv("SHIPYARD_TEST_SECRET", "s3cr3t")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("SHIPYARD_TEST_SECRET", "changed-after-start")
    secrets = Secrets.from_environ(settings.environ).for_repository(Masker())
    assert await secrets.resolve("env://SHIPYARD_TEST_SECRET") == "s3cr3t"


async def test_unset_variable_is_named_in_the_error() -> None:
    with pytest.raises(SecretError, match=r"environment variable MISSING_ONE is not set"):
        await resolve("env://MISSING_ONE", {})


async def test_empty_variable_is_an_error_not_an_empty_secret() -> None:
    with pytest.raises(SecretError, match="EMPTY_ONE is empty"):
        await resolve("env://EMPTY_ONE", {"EMPTY_ONE": ""})


@pytest.mark.parametrize("ref", ["env://", "env://1ABC", "env://A-B", "env://A B"])
async def test_env_reference_needs_a_variable_name(ref: str) -> None:
    with pytest.raises(SecretError, match="environment variable name"):
        await resolve(ref, {"A-B": "x", "1ABC": "x"})


async def test_vault_reference_says_it_is_not_built_yet() -> None:
    with pytest.raises(SecretError, match=r"Vault integration.*not have yet.*env://NAME"):
        await resolve("vault://prod-vault/shipyard/slack#url", {})


async def test_secret_reference_says_there_are_no_definitions_yet() -> None:
    with pytest.raises(SecretError, match=r"no secret definitions yet.*env://NAME"):
        await resolve("secret://SLACK_WEBHOOK", {})


@pytest.mark.parametrize(
    "literal",
    ["hunter2-literal-token", "https://hooks.slack.com/services/T0/B0/literalsecret", ""],
)
async def test_literal_secrets_are_refused_without_repeating_them(literal: str) -> None:
    with pytest.raises(SecretError) as caught:
        await resolve(literal, {})
    message = str(caught.value)
    assert "env://NAME" in message
    assert "vault://" in message
    if literal:
        assert literal not in message


async def test_a_repository_may_not_read_the_servers_files(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("server-only-key\n")
    secrets = Secrets.from_environ({})
    with pytest.raises(SecretError, match="file:// references are for the server"):
        await secrets.for_repository(Masker()).resolve(f"file://{key}")
    assert await secrets.for_server(Masker()).resolve(f"file://{key}") == "server-only-key"


async def test_what_a_resolver_returns_is_masked_from_then_on() -> None:
    mask = Masker()
    resolver = Secrets.from_environ({"DEPLOY_KEY": "dk-123456"}).for_repository(mask)
    assert mask("using dk-123456") == "using dk-123456"
    assert await resolver.resolve("env://DEPLOY_KEY") == "dk-123456"
    assert mask("using dk-123456") == "using ***"


def test_secret_error_is_a_value_error() -> None:
    assert issubclass(SecretError, ValueError)
