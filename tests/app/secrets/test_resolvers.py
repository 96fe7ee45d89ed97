"""Secret references resolved: a repository names `secret://NAME`, granted to it by the
server; the server's sources (env://, file://) never yield Shipyard's own credentials;
vault:// without the integration hub says so; literal secrets are refused; what resolves is
masked."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from app.secrets import Definition, Masker, SecretError, Secrets

GRANTED = Definition("DEPLOY_KEY", "env://TEAM_DEPLOY_KEY", ("github:acme/*",))


async def server(ref: str, environ: dict[str, str] | None = None, **options: object) -> str:
    secrets = Secrets.from_environ(environ or {}, **options)  # type: ignore[arg-type]
    return await secrets.for_server(Masker()).resolve(ref)


async def repository(
    ref: str,
    environ: dict[str, str],
    *,
    repo: str = "acme/web",
    own: Masker | None = None,
    mask: Masker | None = None,
) -> str:
    async def definitions() -> dict[str, Definition]:
        return {GRANTED.name: GRANTED}

    secrets = Secrets.from_environ(environ, own=own)
    resolver = secrets.for_repository(
        mask if mask is not None else Masker(),
        provider="github",
        repository=repo,
        definitions=definitions,
    )
    return await resolver.resolve(ref)


async def test_a_granted_secret_resolves_from_its_definitions_source() -> None:
    assert await repository("secret://DEPLOY_KEY", {"TEAM_DEPLOY_KEY": "dk-123456"}) == (
        "dk-123456"
    )


async def test_a_secret_not_granted_to_the_repository_is_refused() -> None:
    with pytest.raises(SecretError, match=r"secret://DEPLOY_KEY is not granted to github:evil/web"):
        await repository("secret://DEPLOY_KEY", {"TEAM_DEPLOY_KEY": "x" * 8}, repo="evil/web")


async def test_an_undefined_secret_says_how_to_define_one() -> None:
    with pytest.raises(SecretError, match=r"not defined on this server.*shipyard secrets define"):
        await repository("secret://NOPE", {})


@pytest.mark.parametrize("ref", ["env://TEAM_DEPLOY_KEY", "file:///etc/passwd", "vault://v/p#k"])
async def test_a_repository_may_not_name_a_server_side_source(ref: str) -> None:
    with pytest.raises(SecretError, match="for the server's own secret definitions"):
        await repository(ref, {"TEAM_DEPLOY_KEY": "x" * 8})


async def test_a_value_that_is_one_of_shipyards_credentials_is_refused() -> None:
    own = Masker(["ghp_the_servers_token"])
    with pytest.raises(SecretError, match="one of Shipyard's own credentials"):
        await repository(
            "secret://DEPLOY_KEY", {"TEAM_DEPLOY_KEY": "ghp_the_servers_token"}, own=own
        )


async def test_a_value_holding_one_of_shipyards_credentials_is_refused() -> None:
    """A dump of an environment, say, with the server's token somewhere inside (or encoded)."""
    own = Masker(["ghp_the_servers_token"])
    dump = "PATH=/usr/bin\nGITHUB_TOKEN=ghp_the_servers_token\nHOME=/root"
    encoded = "blob " + base64.b64encode(b"ghp_the_servers_token").decode()
    for value in (dump, encoded):
        with pytest.raises(SecretError, match="holds one of Shipyard's own credentials"):
            await repository("secret://DEPLOY_KEY", {"TEAM_DEPLOY_KEY": value}, own=own)


async def test_a_key_sharing_only_a_pem_header_with_shipyards_is_not_refused() -> None:
    app_key = "-----BEGIN RSA PRIVATE KEY-----\nAPPKEYBODY0123\n-----END RSA PRIVATE KEY-----"
    deploy_key = app_key.replace("APPKEYBODY0123", "DEPLOYKEYBODY9876")
    own = Masker([app_key])
    resolved = await repository("secret://DEPLOY_KEY", {"TEAM_DEPLOY_KEY": deploy_key}, own=own)
    assert resolved == deploy_key


async def test_the_environment_is_the_one_the_settings_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.settings import Settings

    monkeypatch.setenv("SHIPYARD_TEST_SECRET", "s3cr3t")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("SHIPYARD_TEST_SECRET", "changed-after-start")
    assert await server("env://SHIPYARD_TEST_SECRET", dict(settings.environ)) == "s3cr3t"


async def test_a_setting_of_shipyards_is_never_a_source() -> None:
    with pytest.raises(SecretError, match="one of Shipyard's own settings"):
        await server(
            "env://GITHUB_TOKEN",
            {"GITHUB_TOKEN": "ghp_x" * 3},
            forbidden_variables=frozenset({"GITHUB_TOKEN"}),
        )


async def test_unset_variable_is_named_in_the_error() -> None:
    with pytest.raises(SecretError, match=r"environment variable MISSING_ONE is not set"):
        await server("env://MISSING_ONE")


async def test_empty_variable_is_an_error_not_an_empty_secret() -> None:
    with pytest.raises(SecretError, match="EMPTY_ONE is empty"):
        await server("env://EMPTY_ONE", {"EMPTY_ONE": ""})


@pytest.mark.parametrize("ref", ["env://", "env://1ABC", "env://A-B", "env://A B"])
async def test_env_reference_needs_a_variable_name(ref: str) -> None:
    with pytest.raises(SecretError, match="environment variable name"):
        await server(ref, {"A-B": "x", "1ABC": "x"})


async def test_vault_reference_without_a_hub_says_so() -> None:
    with pytest.raises(
        SecretError,
        match=r"^CREDENTIAL_FETCH_FAILED: vault://prod-vault/shipyard/slack#url: .*no integration",
    ):
        await server("vault://prod-vault/shipyard/slack#url")


async def test_files_are_read_but_not_shipyards_own(tmp_path: Path) -> None:
    key = tmp_path / "team.key"
    key.write_text("team-only-key\n")
    own = tmp_path / "data"
    (own / "keys").mkdir(parents=True)
    (own / "keys" / "session").write_text("x" * 20)
    assert await server(f"file://{key}") == "team-only-key"
    with pytest.raises(SecretError, match="holds Shipyard's own credentials"):
        await server(f"file://{own}/keys/session", forbidden_paths=frozenset({own}))


@pytest.mark.parametrize(
    "literal",
    ["hunter2-literal-token", "https://hooks.slack.com/services/T0/B0/literalsecret", ""],
)
async def test_literal_secrets_are_refused_without_repeating_them(literal: str) -> None:
    with pytest.raises(SecretError) as caught:
        await repository(literal, {})
    message = str(caught.value)
    assert "secret://NAME" in message
    if literal:
        assert literal not in message


async def test_what_a_resolver_returns_is_masked_from_then_on() -> None:
    mask = Masker()
    assert mask("using dk-123456") == "using dk-123456"
    await repository("secret://DEPLOY_KEY", {"TEAM_DEPLOY_KEY": "dk-123456"}, mask=mask)
    assert mask("using dk-123456") == "using ***"


async def test_untrusted_code_gets_no_secret() -> None:
    resolver = Secrets.from_environ({}).for_untrusted(Masker(), "a fork's code gets no secrets")
    with pytest.raises(SecretError, match="a fork's code gets no secrets"):
        await resolver.resolve("secret://DEPLOY_KEY")


def test_secret_error_is_a_value_error() -> None:
    assert issubclass(SecretError, ValueError)
