"""vault:// as a server-side source: the late-bound reader, its failures as CREDENTIAL_FETCH_FAILED
naming the reference, and `secret://NAME` defined as a vault:// reference, granted to a
repository and resolved (masked) through a real OpenBao dev server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.secrets.definitions import Definition, all_definitions, define
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets, VaultSource
from steps.secret_refs import SecretError, SecretRef
from tests.support.openbao import READ_ALL, OpenBao, own_openbao, vault_hub

VALUE = "vault-held-token-0a1b2c3d"
ACME = ["github:acme/*"]


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    with own_openbao(tmp_path_factory.mktemp("openbao")) as server:
        server.write_policy("reader", READ_ALL)
        server.write_kv2("app", {"token": VALUE})
        yield server


async def test_a_bound_reader_serves_vault_references() -> None:
    asked: list[SecretRef] = []

    async def read(ref: SecretRef) -> str:
        asked.append(ref)
        return VALUE

    vault = VaultSource()
    secrets = Secrets.from_environ({}, vault=vault)
    with pytest.raises(SecretError, match="no integration hub"):
        await secrets.for_server(Masker()).resolve("vault://vault-1/app#token")
    vault.bind(read)
    mask = Masker()
    assert await secrets.for_server(mask).resolve("vault://vault-1/app#token") == VALUE
    assert asked == [SecretRef("vault", path="app", integration="vault-1", key="token")]
    assert mask(VALUE) == "***"


async def test_a_value_that_is_shipyards_own_is_refused_from_vault_too() -> None:
    async def read(ref: SecretRef) -> str:
        return VALUE

    secrets = Secrets.from_environ({}, own=Masker([VALUE]), vault=VaultSource(read))
    with pytest.raises(SecretError, match="holds one of Shipyard's own credentials"):
        await secrets.for_server(Masker()).resolve("vault://vault-1/app#token")


async def test_a_repository_cannot_name_vault_directly() -> None:
    secrets = Secrets.from_environ({}, vault=VaultSource())

    async def definitions() -> dict[str, Definition]:
        return {}

    resolver = secrets.for_repository(
        Masker(), provider="github", repository="acme/web", definitions=definitions
    )
    with pytest.raises(SecretError, match="vault:// references are for the server's own"):
        await resolver.resolve("vault://vault-1/app#token")


async def test_a_secret_defined_from_vault_resolves_for_the_repository_it_is_granted_to(
    migrated: str, bao: OpenBao
) -> None:
    token = bao.token("reader")
    async with vault_hub(migrated, {"VAULT_TOKEN_DEFS": token}) as vh:
        with pytest.raises(SecretError, match="names no secrets integration 'vault-1'"):
            await define(vh.sessions, vh.settings, "APP_TOKEN", "vault://vault-1/app#token", ACME)
        await vh.add("vault-1", bao, "env://VAULT_TOKEN_DEFS")
        await define(vh.sessions, vh.settings, "APP_TOKEN", "vault://vault-1/app#token", ACME)
        await define(vh.sessions, vh.settings, "MISSING", "vault://vault-1/app#missing", ACME)

        async def definitions() -> dict[str, Definition]:
            return await all_definitions(vh.sessions)

        mask = Masker()
        granted = vh.secrets.for_repository(
            mask, provider="github", repository="acme/web", definitions=definitions
        )
        assert await granted.resolve("secret://APP_TOKEN") == VALUE
        assert mask(f"echo {VALUE}") == "echo ***"

        with pytest.raises(SecretError) as missing:
            await granted.resolve("secret://MISSING")
        assert str(missing.value).startswith(
            "CREDENTIAL_FETCH_FAILED: vault://vault-1/app#missing: RESOURCE_NOT_FOUND: "
            "integration vault-1: no key missing in secret/app"
        )
        assert VALUE not in str(missing.value)

        other = vh.secrets.for_repository(
            Masker(), provider="github", repository="other/web", definitions=definitions
        )
        with pytest.raises(SecretError, match="not granted to github:other/web"):
            await other.resolve("secret://APP_TOKEN")
