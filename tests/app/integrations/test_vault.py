"""The hashicorp-vault provider against a real OpenBao dev server: KV v2 and KV v1 reads, token
and AppRole sign-in (and signing in again), namespaces, the checks, discovery, what a missing
key or a refused token says (never a value or a token), a sealed or stopped server — and the
issue's end-to-end circuit breaker test, through `vault://` references."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.integrations.breaker import BreakerPolicy, Breakers
from app.integrations.connector import ConnectorContext, SecretStore
from app.integrations.errors import IntegrationError
from app.integrations.secrets.vault import PROVIDER, VaultConfig, VaultConnector, connect
from app.secrets.masker import Masker
from steps.secret_refs import SecretError
from tests.support.clock import FakeClock
from tests.support.openbao import READ_ALL, OpenBao, own_openbao, vault_hub

VALUE = "s3cr3t-value-9f8e7d6c"


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    """One dev server for the module: KV v2 at secret/, KV v1 at kv1/, a `reader` policy, a
    namespace team-a with KV v2 at secret/."""
    with own_openbao(tmp_path_factory.mktemp("openbao")) as server:
        server.write_policy("reader", READ_ALL)
        server.enable_kv("kv1", version=1)
        server.create_namespace("team-a")
        server.enable_kv("secret", version=2, namespace="team-a")
        yield server


def vault(
    http: httpx.AsyncClient, bao: OpenBao, credential: str, clock: Any = None, **config: Any
) -> VaultConnector:
    """A connector to `bao` whose credential reference resolves to `credential`."""

    async def resolve(reference: str) -> str:
        assert reference == "env://VAULT_CREDENTIAL"
        return credential

    context = ConnectorContext(
        name="vault-1",
        config=VaultConfig(endpoint=bao.url, **config),
        credential_ref="env://VAULT_CREDENTIAL",
        http=http,
        resolve=resolve,
    )
    return VaultConnector(context, clock=clock.time) if clock else connect(context)


async def failure(connector: VaultConnector, path: str, key: str) -> IntegrationError:
    with pytest.raises(IntegrationError) as raised:
        await connector.read_secret(path, key)
    return raised.value


# --- configuration ------------------------------------------------------------------------------


def test_the_provider_is_a_secret_store_that_discovers_secrets() -> None:
    assert (PROVIDER.name, PROVIDER.type, PROVIDER.resource_types) == (
        "hashicorp-vault",
        "secrets",
        ("secrets",),
    )
    assert PROVIDER.available
    assert PROVIDER.supports_discovery


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({}, "endpoint\n  Field required"),
        ({"endpoint": "vault.example.com"}, "endpoint must be an http:// or https:// URL"),
        ({"endpoint": "https://v", "auth": "approle"}, "auth approle needs role_id"),
        ({"endpoint": "https://v", "auth": "ldap"}, "Input should be 'token' or 'approle'"),
        ({"endpoint": "https://v", "kv_version": 3}, "Input should be 1 or 2"),
        ({"endpoint": "https://v", "mount": "a b"}, "'a b' is not a mount path"),
        ({"endpoint": "https://v", "namespace": "team a"}, "'team a' is not a namespace path"),
        ({"endpoint": "https://v", "token": "hvs.x"}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_config_says_what_is_wrong(config: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(says)):
        VaultConfig.model_validate(config)


def test_a_config_is_normalised() -> None:
    config = VaultConfig.model_validate(
        {"endpoint": "https://vault.example.com:8200/", "mount": "/kv/team/", "namespace": "/a/"}
    )
    assert (config.endpoint, config.mount, config.namespace, config.kv_version, config.auth) == (
        "https://vault.example.com:8200",
        "kv/team",
        "a",
        2,
        "token",
    )


# --- reading ------------------------------------------------------------------------------------


async def test_kv2_read_with_a_token(bao: OpenBao, http: httpx.AsyncClient) -> None:
    bao.write_kv2("app/web", {"token": VALUE, "port": 8443, "tls": {"on": True}})
    connector = vault(http, bao, bao.token("reader"))
    assert isinstance(connector, SecretStore)
    assert await connector.read_secret("app/web", "token") == VALUE
    assert await connector.read_secret("/app/web/", "port") == "8443"
    assert await connector.read_secret("app/web", "tls") == '{"on": true}'


async def test_kv1_read(bao: OpenBao, http: httpx.AsyncClient) -> None:
    bao.write_kv1("legacy/db", {"password": VALUE}, mount="kv1")
    connector = vault(http, bao, bao.token("reader"), mount="kv1", kv_version=1)
    assert await connector.read_secret("legacy/db", "password") == VALUE
    missing = await failure(connector, "legacy/db", "user")
    assert (missing.code, missing.detail) == ("RESOURCE_NOT_FOUND", "no key user in kv1/legacy/db")


async def test_a_namespace_is_sent_with_every_call(bao: OpenBao, http: httpx.AsyncClient) -> None:
    bao.write_kv2("ns-only", {"token": VALUE}, namespace="team-a")
    root = bao.root_token  # a token of the root namespace reaches its children
    inside = vault(http, bao, root, namespace="team-a")
    assert await inside.read_secret("ns-only", "token") == VALUE
    outside = await failure(vault(http, bao, root), "ns-only", "token")
    assert (outside.code, outside.detail) == (
        "RESOURCE_NOT_FOUND",
        "read secret/ns-only: not found",
    )


async def test_approle_signs_in_and_again_when_its_token_is_revoked(
    bao: OpenBao, http: httpx.AsyncClient
) -> None:
    bao.write_kv2("approle/app", {"token": VALUE})
    role_id, secret_id = bao.approle("deployer", "reader")
    connector = vault(http, bao, secret_id, auth="approle", role_id=role_id)
    message = await connector.check("authentication")
    assert message == f"AppRole login as role_id {role_id} succeeded; its token lasts 3600s"
    assert await connector.read_secret("approle/app", "token") == VALUE
    assert len(bao.approle_tokens("deployer")) == 1

    assert bao.revoke_approle_tokens("deployer") == 1  # the server forgets the token: 403
    assert await connector.read_secret("approle/app", "token") == VALUE  # signed in again
    assert len(bao.approle_tokens("deployer")) == 1


async def test_an_approle_token_is_replaced_before_it_expires(
    bao: OpenBao, http: httpx.AsyncClient
) -> None:
    bao.write_kv2("approle/renew", {"token": VALUE})
    role_id, secret_id = bao.approle("renewer", "reader", lease="100s")
    clock = FakeClock()
    connector = vault(http, bao, secret_id, clock, auth="approle", role_id=role_id)
    assert await connector.read_secret("approle/renew", "token") == VALUE
    clock.now += 79  # before 80 % of its lease: the same token
    assert await connector.read_secret("approle/renew", "token") == VALUE
    assert len(bao.approle_tokens("renewer")) == 1
    clock.now += 2  # past it: a new login first
    assert await connector.read_secret("approle/renew", "token") == VALUE
    assert len(bao.approle_tokens("renewer")) == 2


async def test_a_wrong_approle_secret_id_fails_authentication(
    bao: OpenBao, http: httpx.AsyncClient
) -> None:
    role_id, _ = bao.approle("wrong-secret", "reader")
    wrong = "00000000-1111-2222-3333-444444444444"
    connector = vault(http, bao, wrong, auth="approle", role_id=role_id)
    for call in (connector.check("authentication"), connector.read_secret("app", "token")):
        with pytest.raises(IntegrationError) as raised:
            await call
        assert raised.value.code == "AUTHENTICATION_FAILED"
        assert raised.value.detail.startswith("AppRole login at auth/approle refused (")
        assert wrong not in str(raised.value)


async def test_a_token_signs_in_again_from_its_reference_when_refused(
    bao: OpenBao, http: httpx.AsyncClient
) -> None:
    """A rotated token: the old one is revoked and the reference now gives the new one."""
    bao.write_kv2("rotate/app", {"token": VALUE})
    old, new = bao.token("reader"), bao.token("reader")
    current = {"token": old}

    async def resolve(reference: str) -> str:
        return current["token"]

    context = ConnectorContext(
        "vault-1", VaultConfig(endpoint=bao.url), "env://VAULT_TOKEN", http, resolve
    )
    connector = connect(context)
    assert await connector.read_secret("rotate/app", "token") == VALUE
    bao.revoke(old)
    current["token"] = new
    assert await connector.read_secret("rotate/app", "token") == VALUE


async def test_a_revoked_token_fails_authentication_without_showing_it(
    bao: OpenBao, http: httpx.AsyncClient
) -> None:
    token = bao.token("reader")
    bao.revoke(token)
    connector = vault(http, bao, token)
    with pytest.raises(IntegrationError) as raised:
        await connector.check("authentication")
    assert raised.value.code == "AUTHENTICATION_FAILED"
    assert raised.value.detail.startswith("the token was refused (permission denied)")
    error = await failure(connector, "app", "token")
    assert error.code == "AUTHENTICATION_FAILED"
    assert token not in str(raised.value) + str(error)


async def test_a_token_its_policy_does_not_allow_is_permission_denied(
    bao: OpenBao, http: httpx.AsyncClient
) -> None:
    bao.write_kv2("private/db", {"password": VALUE})
    bao.write_policy("web-only", 'path "secret/data/web/*" { capabilities = ["read"] }')
    token = bao.token("web-only")
    error = await failure(vault(http, bao, token), "private/db", "password")
    assert (error.code, error.detail) == (
        "PERMISSION_DENIED",
        "read secret/private/db: permission denied (the token's policies do not allow it)",
    )
    assert not error.trips  # says nothing of the server's health


async def test_a_missing_key_names_it_and_never_the_value(
    bao: OpenBao, http: httpx.AsyncClient
) -> None:
    bao.write_kv2("missing/app", {"token": VALUE})
    connector = vault(http, bao, bao.token("reader"))
    for path, key, says in [
        ("missing/app", "password", "no key password in secret/missing/app"),
        ("missing/none", "token", "read secret/missing/none: not found"),
    ]:
        error = await failure(connector, path, key)
        assert (error.code, error.detail) == ("RESOURCE_NOT_FOUND", says)
        assert VALUE not in str(error)
    bao.delete_kv2("missing/app")  # its latest version deleted: not served
    error = await failure(connector, "missing/app", "token")
    assert (error.code, error.detail) == (
        "RESOURCE_NOT_FOUND",
        "read secret/missing/app: not found",
    )


# --- checks and discovery -----------------------------------------------------------------------


async def test_checks_pass_level_by_level(bao: OpenBao, http: httpx.AsyncClient) -> None:
    connector = vault(http, bao, bao.token("reader"))
    connectivity = await connector.check("connectivity")
    assert re.fullmatch(r"reachable: version 2\.\S+, unsealed, active", connectivity)
    assert re.fullmatch(
        r"token accepted \(policies: default, reader; it expires in \d+s\)",
        await connector.check("authentication"),
    )
    assert re.fullmatch(
        r"mount secret/ is KV v2, \d+ entries at its top", await connector.check("functionality")
    )


@pytest.mark.parametrize(
    ("config", "code", "says"),
    [
        ({"kv_version": 1}, "INVALID_CONFIG", "mount secret/ is KV version 2; set kv_version 2"),
        ({"mount": "kv1"}, "INVALID_CONFIG", "mount kv1/ is KV version 1; set kv_version 1"),
        ({"mount": "nowhere"}, "RESOURCE_NOT_FOUND", "there is no mount nowhere/"),
    ],
)
async def test_functionality_says_when_the_mount_does_not_fit(
    bao: OpenBao, http: httpx.AsyncClient, config: dict[str, Any], code: str, says: str
) -> None:
    with pytest.raises(IntegrationError) as raised:
        await vault(http, bao, bao.root_token, **config).check("functionality")
    assert raised.value.code == code
    assert raised.value.detail.startswith(says)


async def test_discovery_lists_secrets_and_one_level_into_folders(
    bao: OpenBao, http: httpx.AsyncClient
) -> None:
    for path in ("found/web", "found/db/primary", "found/db/replica", "found/deep/a/b"):
        bao.write_kv2(path, {"token": VALUE})
    connector = vault(http, bao, bao.token("reader"))
    found = await connector.discover("secrets", {"path": "found"})
    assert [(r.name, r.details["folder"]) for r in found] == [
        ("found/db/", True),
        ("found/db/primary", False),
        ("found/db/replica", False),
        ("found/deep/", True),
        ("found/deep/a/", True),
        ("found/web", False),
    ]
    assert VALUE not in repr(found)
    assert await connector.discover("secrets", {"path": "nothing-here"}) == []


# --- an unreachable server ----------------------------------------------------------------------


async def test_a_sealed_server_says_so(bao: OpenBao, http: httpx.AsyncClient) -> None:
    connector = vault(http, bao, bao.root_token)
    await connector.check("authentication")  # signed in: the read itself meets the seal
    bao.seal()
    try:
        with pytest.raises(IntegrationError) as health:
            await connector.check("connectivity")
        error = await failure(connector, "app", "token")
    finally:
        bao.unseal()
    assert (health.value.code, health.value.detail) == (
        "CONNECTION_REFUSED",
        "the server is sealed (unseal it to serve secrets)",
    )
    assert (error.code, error.detail) == (
        "CONNECTION_REFUSED",
        "read secret/app: the server is sealed (unseal it to serve secrets)",
    )
    assert error.trips


async def test_a_stopped_server_is_connection_refused(tmp_path: Path) -> None:
    with own_openbao(tmp_path / "bao") as server:
        async with httpx.AsyncClient() as client:
            connector = vault(client, server, server.root_token)
            assert await connector.check("connectivity")
            server.stop()
            for call in (connector.check("connectivity"), connector.read_secret("a", "b")):
                with pytest.raises(IntegrationError) as raised:
                    await call
                assert raised.value.code == "CONNECTION_REFUSED"
                assert raised.value.detail.endswith("cannot connect")


# --- through the hub ------------------------------------------------------------------------------


async def test_vault_references_resolve_through_the_hub_masked(migrated: str, bao: OpenBao) -> None:
    bao.write_kv2("hub/app", {"token": VALUE})
    token = bao.token("reader")
    async with vault_hub(migrated, {"VAULT_TOKEN_HUB": token}, secret_ttl_seconds=60) as vh:
        await vh.add("vault-1", bao, "env://VAULT_TOKEN_HUB")
        mask = Masker()
        resolver = vh.secrets.for_server(mask)
        assert await resolver.resolve("vault://vault-1/hub/app#token") == VALUE
        assert mask(f"the value {VALUE} leaked") == "the value *** leaked"
        report = await vh.hub.test("vault-1")
        assert report.health == "healthy", report.as_json()

        for reference, says in [
            ("vault://vault-1/hub/app#nope", "RESOURCE_NOT_FOUND: integration vault-1: no key "),
            ("vault://vault-9/hub/app#token", "there is no secrets integration 'vault-9'"),
        ]:
            with pytest.raises(SecretError) as raised:
                await resolver.resolve(reference)
            assert str(raised.value).startswith(f"CREDENTIAL_FETCH_FAILED: {reference}: ")
            assert says in str(raised.value)
            assert VALUE not in str(raised.value)
            assert token not in str(raised.value)


async def test_a_sealed_server_trips_the_breaker_end_to_end(migrated: str, bao: OpenBao) -> None:
    """The breaker of one integration, through `vault://` reads of a real server:

    1. the server is sealed: 5 reads fail (CONNECTION_REFUSED), and the 5th opens the breaker;
    2. the server is unsealed, yet a read fails at once with INTEGRATION_UNHEALTHY: the
       breaker refused it without asking the server (its audit log gains no request);
    3. open_seconds (60) later it half-opens: a read goes through;
    4. after 3 reads that succeed it is closed again.
    """
    bao.write_kv2("breaker/app", {"token": VALUE})
    clock = FakeClock()
    breakers = Breakers(BreakerPolicy(5, 3, open_seconds=60.0), clock=clock.time)
    token = bao.token("reader")
    reference = "vault://vault-1/breaker/app#token"
    async with vault_hub(migrated, {"VAULT_TOKEN_E2E": token}, breakers=breakers) as vh:
        await vh.add("vault-1", bao, "env://VAULT_TOKEN_E2E")
        resolver = vh.secrets.for_server(Masker())

        def position() -> str:
            return breakers.state("vault-1").position

        assert await resolver.resolve(reference) == VALUE
        # 1. sealed: five failures open it
        bao.seal()
        try:
            for failures in range(1, 6):
                with pytest.raises(SecretError, match=r"CONNECTION_REFUSED.*sealed"):
                    await resolver.resolve(reference)
                assert position() == ("open" if failures == 5 else "closed")
        finally:
            bao.unseal()

        # 2. open: refused at once, though the server would answer now
        asked = bao.requests_seen()
        with pytest.raises(SecretError) as refused:
            await resolver.resolve(reference)
        assert str(refused.value) == (
            f"CREDENTIAL_FETCH_FAILED: {reference}: INTEGRATION_UNHEALTHY: integration vault-1: "
            "its circuit breaker is open after repeated failures; calls resume in 60s"
        )
        assert bao.requests_seen() == asked
        clock.now += 59.5
        with pytest.raises(SecretError, match="INTEGRATION_UNHEALTHY"):
            await resolver.resolve(reference)
        assert (position(), bao.requests_seen()) == ("open", asked)

        # 3. its time is up: half open, and the read goes to the server
        clock.now += 0.5
        assert await resolver.resolve(reference) == VALUE
        assert bao.requests_seen() > asked
        assert (position(), breakers.state("vault-1").successes) == ("half_open", 1)

        # 4. two more successes (three in all) close it
        assert await resolver.resolve(reference) == VALUE
        assert position() == "half_open"
        assert await resolver.resolve(reference) == VALUE
        assert position() == "closed"


async def test_a_stopped_server_opens_the_breaker(migrated: str, tmp_path: Path) -> None:
    breakers = Breakers(BreakerPolicy(5, 3, open_seconds=60.0), clock=FakeClock().time)
    with own_openbao(tmp_path / "bao") as server:
        async with vault_hub(migrated, {"ROOT": server.root_token}, breakers=breakers) as vh:
            await vh.add("vault-1", server, "env://ROOT")
            resolver = vh.secrets.for_server(Masker())
            server.stop()
            for _ in range(5):
                with pytest.raises(SecretError, match=r"CONNECTION_REFUSED.*cannot connect"):
                    await resolver.resolve("vault://vault-1/app#token")
            with pytest.raises(SecretError, match="INTEGRATION_UNHEALTHY"):
                await resolver.resolve("vault://vault-1/app#token")
            report = await vh.hub.test("vault-1")
    assert report.health == "unhealthy"
    assert report.results[0].code == "CONNECTION_REFUSED"
