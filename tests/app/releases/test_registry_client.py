"""The registry client against a real registry (Debian's docker-registry): the digest it
answers is the one the push reported; an unknown tag is ImageNotFound; basic auth; the catalog
and tag lists page by page; `/v2/` pinged and signed in to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.releases.registry import (
    ImageNotFound,
    ImageReference,
    RegistryClient,
    RegistryCredential,
    RegistryError,
)
from tests.support.http import free_port
from tests.support.registry import OCI_MANIFEST, Registry, own_registry, push_image, push_index

USERS = {"ci-bot": "correct horse"}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with own_registry(tmp_path / "registry") as started:
        yield started


@pytest.fixture
def locked_registry(tmp_path: Path) -> Iterator[Registry]:
    with own_registry(tmp_path / "locked", users=USERS) as started:
        yield started


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def client_with(http: httpx.AsyncClient, credential: RegistryCredential | None) -> RegistryClient:
    async def credentials(host: str) -> RegistryCredential | None:
        return credential

    return RegistryClient(http, credentials)


async def test_the_digest_of_a_tag_is_the_one_the_push_reported(
    registry: Registry, http: httpx.AsyncClient
) -> None:
    pushed = await push_image(registry, "acme/web", "1.0")
    other = await push_image(registry, "acme/web", "1.1")
    client = RegistryClient(http)

    assert await client.manifest_digest(f"{registry.host}/acme/web", "1.0") == pushed.digest
    assert await client.manifest_digest(f"{registry.host}/acme/web", "1.1") == other.digest
    assert pushed.digest != other.digest


async def test_an_oci_manifest_answers_its_digest_too(
    registry: Registry, http: httpx.AsyncClient
) -> None:
    pushed = await push_image(registry, "acme/api", "v2", media_type=OCI_MANIFEST)
    client = RegistryClient(http)
    assert await client.manifest_digest(f"{registry.host}/acme/api", "v2") == pushed.digest


async def test_a_multi_platform_tag_answers_its_index_not_one_platforms_manifest(
    registry: Registry, http: httpx.AsyncClient
) -> None:
    amd64 = await push_image(registry, "acme/web", "amd64", media_type=OCI_MANIFEST)
    arm64 = await push_image(registry, "acme/web", "arm64", layer=b"arm64", media_type=OCI_MANIFEST)
    index = await push_index(registry, "acme/web", "1.0", [amd64, arm64])
    client = RegistryClient(http)
    assert await client.manifest_digest(f"{registry.host}/acme/web", "1.0") == index.digest
    assert index.digest not in (amd64.digest, arm64.digest)


async def test_asking_by_digest_answers_the_same_digest(
    registry: Registry, http: httpx.AsyncClient
) -> None:
    pushed = await push_image(registry, "acme/web", "1.0")
    client = RegistryClient(http)
    assert await client.manifest_digest(f"{registry.host}/acme/web", pushed.digest) == pushed.digest


@pytest.mark.parametrize(("name", "tag"), [("acme/web", "9.9"), ("acme/nothing", "1.0")])
async def test_an_unknown_tag_or_repository_is_image_not_found(
    registry: Registry, http: httpx.AsyncClient, name: str, tag: str
) -> None:
    await push_image(registry, "acme/web", "1.0")
    with pytest.raises(ImageNotFound) as raised:
        await RegistryClient(http).manifest_digest(f"{registry.host}/{name}", tag)
    assert (
        str(raised.value) == f"{registry.host}/{name}:{tag}: the registry has no such image or tag"
    )
    assert raised.value.retryable


async def test_with_basic_auth_the_right_credential_answers_the_digest(
    locked_registry: Registry, http: httpx.AsyncClient
) -> None:
    pushed = await push_image(locked_registry, "acme/web", "1.0")
    client = client_with(http, RegistryCredential("ci-bot", USERS["ci-bot"]))
    image = f"{locked_registry.host}/acme/web"
    assert await client.manifest_digest(image, "1.0") == pushed.digest
    # Asked again, it sends the login at once, and an unknown tag is still only not found.
    assert await client.manifest_digest(image, "1.0") == pushed.digest
    with pytest.raises(ImageNotFound):
        await client.manifest_digest(image, "2.0")


async def test_with_basic_auth_and_no_credential_the_registry_refuses(
    locked_registry: Registry, http: httpx.AsyncClient
) -> None:
    await push_image(locked_registry, "acme/web", "1.0")
    with pytest.raises(RegistryError) as raised:
        await client_with(http, None).manifest_digest(f"{locked_registry.host}/acme/web", "1.0")
    assert not isinstance(raised.value, ImageNotFound)
    assert "asks for a login and Shipyard has no credential for it" in str(raised.value)
    assert not raised.value.retryable


async def test_with_basic_auth_a_wrong_password_is_refused_and_never_shown(
    locked_registry: Registry, http: httpx.AsyncClient
) -> None:
    await push_image(locked_registry, "acme/web", "1.0")
    client = client_with(http, RegistryCredential("ci-bot", "wrong-password-42"))
    with pytest.raises(RegistryError) as raised:
        await client.manifest_digest(f"{locked_registry.host}/acme/web", "1.0")
    message = str(raised.value)
    assert message == (
        f"{locked_registry.host}/acme/web:1.0: "
        f"{locked_registry.host} refused the credential Shipyard has for it"
    )
    assert "wrong-password-42" not in message + repr(raised.value)


async def test_a_registry_that_is_not_there_is_a_retryable_error(http: httpx.AsyncClient) -> None:
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError) as raised:
        await RegistryClient(http).manifest_digest(f"{host}/acme/web", "1.0")
    assert str(raised.value).startswith(
        f"{host}/acme/web:1.0: could not reach {host}: ConnectError"
    )
    assert raised.value.retryable


async def test_the_catalog_and_tag_lists_are_read_page_by_page(
    locked_registry: Registry, http: httpx.AsyncClient
) -> None:
    """One entry a page: every later page is the registry's own `Link: <…>; rel="next"`."""
    for name, tag in [("acme/web", "1.0"), ("acme/web", "1.1"), ("acme/worker", "1.0")]:
        await push_image(locked_registry, name, tag)
    await push_image(locked_registry, "other/api", "2.0")
    client = client_with(http, RegistryCredential("ci-bot", USERS["ci-bot"]))
    host = locked_registry.host

    assert await client.repositories(host, page=1) == ["acme/web", "acme/worker", "other/api"]
    assert await client.repositories(host, page=1, limit=2) == ["acme/web", "acme/worker"]
    assert sorted(await client.tags(ImageReference(host, "acme/web"), page=1)) == ["1.0", "1.1"]
    with pytest.raises(ImageNotFound) as raised:
        await client.tags(ImageReference(host, "acme/nothing"))
    assert str(raised.value) == f"{host}/acme/nothing: the registry has no such repository"


async def test_signing_in_says_how_and_a_ping_needs_no_credential(
    locked_registry: Registry, http: httpx.AsyncClient
) -> None:
    host = locked_registry.host
    ping = await client_with(http, None).ping(host)
    assert ping.status == 401
    assert ping.challenge is not None
    assert ping.challenge.scheme == "basic"
    assert ping.api_version == "registry/2.0"
    right = client_with(http, RegistryCredential("ci-bot", USERS["ci-bot"]))
    assert await right.sign_in(host) == "basic"
    wrong = client_with(http, RegistryCredential("ci-bot", "wrong-password-42"))
    with pytest.raises(RegistryError) as raised:
        await wrong.sign_in(host)
    assert raised.value.failure == "unauthorized"
