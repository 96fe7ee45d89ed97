"""The docker-registry connector at the transport (respx), for what the local registry does not
do: a bearer token service answering `/v2/` and the catalog, `Link` pages, Docker Hub's missing
catalog, and each failure as the hub's error code; its config, and naming a registry."""

from __future__ import annotations

import base64

import httpx
import pytest
import respx

from app.integrations.connector import ConnectorContext
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CHECK_LEVELS, CheckLevel
from app.integrations.model import CheckResult, health_of
from app.integrations.registries.docker_registry import (
    DockerRegistry,
    RegistryConfig,
    endpoint_host,
    registry_name,
)

ENDPOINT = "https://registry.example.com"
REALM = "https://auth.example.com/token"
LOGIN = "robot:s3cret-pass"
SECRETS = {"env://REGISTRY_LOGIN": LOGIN}


def bearer(scope: str | None = None) -> httpx.Response:
    header = f'Bearer realm="{REALM}",service="registry.example.com"'
    if scope:
        header += f',scope="{scope}"'
    return httpx.Response(401, headers={"www-authenticate": header})


def basic_of(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


async def _resolve(reference: str) -> str:
    if reference not in SECRETS:
        raise IntegrationError("CREDENTIAL_FETCH_FAILED", f"{reference}: it is not set")
    return SECRETS[reference]


def connector(
    http: httpx.AsyncClient,
    endpoint: str = ENDPOINT,
    credential: str | None = "env://REGISTRY_LOGIN",
) -> DockerRegistry:
    context = ConnectorContext(
        name="hub-registry",
        config=RegistryConfig(endpoint=endpoint),
        credential_ref=credential,
        http=http,
        resolve=_resolve,
    )
    return DockerRegistry(context)


async def test_signing_in_asks_the_token_service_afresh_each_check(
    http: httpx.AsyncClient,
) -> None:
    registry = connector(http)
    with respx.mock(assert_all_called=True) as mock:
        ping = mock.get(f"{ENDPOINT}/v2/").mock(
            side_effect=[bearer(), httpx.Response(200), bearer(), httpx.Response(200)]
        )
        token = mock.get(REALM).mock(
            side_effect=[
                httpx.Response(200, json={"token": "t-1", "expires_in": 300}),
                httpx.Response(200, json={"token": "t-2", "expires_in": 300}),
            ]
        )
        said = await registry.check("authentication")
        assert said == "signed in: the registry's token service gave a token"
        await registry.check("authentication")

    fetched = [call.request for call in token.calls]
    assert [dict(r.url.params) for r in fetched] == [{"service": "registry.example.com"}] * 2
    assert all(r.headers["authorization"] == basic_of(LOGIN) for r in fetched)
    sent = [call.request.headers.get("authorization") for call in ping.calls]
    assert sent == [None, "Bearer t-1", None, "Bearer t-2"]


async def test_connectivity_needs_no_credential(http: httpx.AsyncClient) -> None:
    registry = connector(http, credential="env://NOT_SET")
    with respx.mock(assert_all_called=True) as mock:
        ping = mock.get(f"{ENDPOINT}/v2/").mock(return_value=bearer())
        said = await registry.check("connectivity")
    assert said == f"{ENDPOINT}/v2/ answers, asking for bearer sign-in"
    assert "authorization" not in ping.calls[0].request.headers


@pytest.mark.parametrize(
    ("answer", "code", "said"),
    [
        (httpx.Response(404), "INVALID_CONFIG", "no Registry API v2 at"),
        (httpx.Response(401), "PROVIDER_ERROR", "401 without a challenge Shipyard can answer"),
        (httpx.Response(500), "PROVIDER_ERROR", "answered 500"),
        (httpx.Response(429), "RATE_LIMITED", "answered 429"),
    ],
)
async def test_what_is_not_a_registry_fails_connectivity(
    http: httpx.AsyncClient, answer: httpx.Response, code: str, said: str
) -> None:
    registry = connector(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/v2/").mock(return_value=answer)
        with pytest.raises(IntegrationError) as raised:
            await registry.check("connectivity")
    assert raised.value.code == code
    assert said in str(raised.value)


async def test_the_catalog_is_read_page_by_page_with_one_token(http: httpx.AsyncClient) -> None:
    registry = connector(http)
    first = f"{ENDPOINT}/v2/_catalog?n=100"
    second = f"{ENDPOINT}/v2/_catalog?last=acme%2Fweb&n=100"
    with respx.mock(assert_all_called=True) as mock:
        pages = mock.get(url__startswith=f"{ENDPOINT}/v2/_catalog").mock(
            side_effect=[
                bearer("registry:catalog:*"),
                httpx.Response(
                    200,
                    json={"repositories": ["acme/api", "acme/web"]},
                    headers={"link": '</v2/_catalog?last=acme%2Fweb&n=100>; rel="next"'},
                ),
                httpx.Response(200, json={"repositories": ["other/db"]}),
            ]
        )
        token = mock.get(REALM).respond(200, json={"token": "t-1", "expires_in": 300})
        found = await registry.discover("repositories", {})

    assert [r.name for r in found] == ["acme/api", "acme/web", "other/db"]
    assert [str(call.request.url) for call in pages.calls] == [first, first, second]
    assert [call.request.headers.get("authorization") for call in pages.calls] == [
        None,
        "Bearer t-1",
        "Bearer t-1",
    ]
    assert dict(token.calls[0].request.url.params) == {
        "service": "registry.example.com",
        "scope": "registry:catalog:*",
    }


async def test_a_next_page_on_another_host_is_not_followed(http: httpx.AsyncClient) -> None:
    registry = connector(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/v2/acme/web/tags/list?n=100").respond(
            200,
            json={"name": "acme/web", "tags": ["v1"]},
            headers={"link": '<https://evil.example.com/v2/acme/web/tags/list?n=100>; rel="next"'},
        )
        with pytest.raises(IntegrationError) as raised:
            await registry.discover("tags", {"repository": "acme/web"})
    assert raised.value.code == "PROVIDER_ERROR"
    assert "the next page is on another host (evil.example.com): not followed" in str(raised.value)


async def test_a_repository_without_tags_has_none(http: httpx.AsyncClient) -> None:
    registry = connector(http, credential=None)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/v2/acme/web/tags/list?n=100").respond(
            200, json={"name": "acme/web", "tags": None}
        )
        assert await registry.discover("tags", {"repository": "acme/web"}) == []


async def test_a_registry_without_a_catalog_is_degraded(http: httpx.AsyncClient) -> None:
    """Docker Hub and GHCR keep no catalog: reachable, signed in, and functionality fails."""
    registry = connector(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/v2/").mock(return_value=httpx.Response(200))
        mock.get(f"{ENDPOINT}/v2/_catalog?n=1").respond(
            404, json={"errors": [{"code": "UNSUPPORTED"}]}
        )
        results: dict[CheckLevel, CheckResult] = {}
        for level in CHECK_LEVELS:
            try:
                message = await registry.check(level)
                results[level] = CheckResult(level, True, 1.0, message)
            except IntegrationError as error:
                results[level] = CheckResult(level, False, 1.0, error.detail, error.code)
    assert results["functionality"].code == "RESOURCE_NOT_FOUND"
    assert "the registry lists no catalog of its repositories" in results["functionality"].message
    assert health_of(results) == "degraded"


@pytest.mark.parametrize(
    ("answer", "code", "retry_after"),
    [
        (httpx.Response(403), "PERMISSION_DENIED", None),
        (httpx.Response(429, headers={"retry-after": "7"}), "RATE_LIMITED", 7.0),
        (httpx.Response(503), "PROVIDER_ERROR", None),
        (httpx.Response(200, text="<html>"), "PROVIDER_ERROR", None),
        (httpx.ConnectError("refused"), "CONNECTION_REFUSED", None),
        (httpx.ReadTimeout("slow"), "TIMEOUT", None),
    ],
)
async def test_each_failure_is_the_hubs_code(
    http: httpx.AsyncClient,
    answer: httpx.Response | Exception,
    code: str,
    retry_after: float | None,
) -> None:
    registry = connector(http)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{ENDPOINT}/v2/acme/web/tags/list?n=100")
        if isinstance(answer, Exception):
            route.mock(side_effect=answer)
        else:
            route.mock(return_value=answer)
        with pytest.raises(IntegrationError) as raised:
            await registry.discover("tags", {"repository": "acme/web"})
    assert raised.value.code == code
    assert raised.value.retry_after == retry_after
    assert "s3cret" not in str(raised.value)


async def test_a_credential_that_cannot_be_read_is_named(http: httpx.AsyncClient) -> None:
    registry = connector(http, credential="env://NOT_SET")
    with respx.mock(assert_all_called=True) as mock:
        mock.head(f"{ENDPOINT}/v2/acme/web/manifests/v1").mock(
            return_value=httpx.Response(401, headers={"www-authenticate": 'Basic realm="r"'})
        )
        with pytest.raises(IntegrationError) as raised:
            await registry.manifest_digest("acme/web", "v1")
    assert raised.value.code == "CREDENTIAL_FETCH_FAILED"
    assert "env://NOT_SET" in str(raised.value)


@pytest.mark.parametrize(
    ("scope", "said"),
    [
        ({}, "discovering tags needs the repository they are of"),
        ({"repository": "Acme/Web"}, "'Acme/Web' is not a repository's name"),
    ],
)
async def test_tags_need_a_repository(
    http: httpx.AsyncClient, scope: dict[str, str], said: str
) -> None:
    with pytest.raises(IntegrationError) as raised:
        await connector(http).discover("tags", scope)
    assert raised.value.code == "INVALID_CONFIG"
    assert said in str(raised.value)


async def test_an_https_endpoint_on_a_loopback_host_stays_https(http: httpx.AsyncClient) -> None:
    registry = connector(http, endpoint="https://127.0.0.1:5443", credential=None)
    with respx.mock(assert_all_called=True) as mock:
        mock.head("https://127.0.0.1:5443/v2/acme/web/manifests/v1").respond(
            200, headers={"docker-content-digest": "sha256:" + "ab" * 32}
        )
        assert await registry.manifest_digest("acme/web", "v1") == "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("endpoint", "said"),
    [
        ("https://registry.example.com/v2/", "must be the registry's root"),
        ("https://robot:pass@registry.example.com", "give the credential as a reference"),
        ("registry.example.com", "must be an http:// or https:// URL"),
    ],
)
def test_an_endpoint_is_a_registrys_root(endpoint: str, said: str) -> None:
    with pytest.raises(ValueError, match=said) as raised:
        RegistryConfig(endpoint=endpoint)
    assert "pass@" not in str(raised.value)


def test_an_endpoint_is_required() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        RegistryConfig.model_validate({})


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("localhost:5000", "localhost-5000"),
        ("Registry.Example.com:5000", "registry.example.com-5000"),
        ("ghcr.io", "ghcr.io"),
    ],
)
def test_a_registry_is_named_after_its_host(host: str, name: str) -> None:
    assert registry_name(host) == name


@pytest.mark.parametrize(
    ("endpoint", "host"),
    [
        ("https://ghcr.io", "ghcr.io"),
        ("https://ghcr.io:443", "ghcr.io"),
        ("http://Registry.Example.com:5000", "registry.example.com:5000"),
    ],
)
def test_the_host_an_endpoint_names(endpoint: str, host: str) -> None:
    assert endpoint_host(endpoint) == host
