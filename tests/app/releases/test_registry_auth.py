"""The registry client's protocol, at the transport (respx): the bearer-token flow and its
cache, basic auth, the GET fallback, the errors; and the pure parts, as tables."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from app.releases.registry import (
    MANIFEST_MEDIA_TYPES,
    Challenge,
    ImageNotFound,
    ImageReference,
    RegistryClient,
    RegistryCredential,
    RegistryError,
    is_loopback,
    next_page,
    parse_challenge,
    split_reference,
)

DIGEST = "sha256:" + "ab" * 32
HOST = "registry.example.com"
MANIFEST = f"https://{HOST}/v2/acme/web/manifests/1.0"
REALM = "https://auth.example.com/token"
CHALLENGE = (
    f'Bearer realm="{REALM}",service="registry.example.com",scope="repository:acme/web:pull"'
)
ALICE = RegistryCredential("alice", "s3cret-pass")
ACCEPT = ", ".join(MANIFEST_MEDIA_TYPES)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make_client(
    http: httpx.AsyncClient,
    credential: RegistryCredential | None = ALICE,
    clock: Clock | None = None,
    plain: tuple[str, ...] = (),
) -> tuple[RegistryClient, list[str]]:
    asked: list[str] = []

    async def credentials(host: str) -> RegistryCredential | None:
        asked.append(host)
        return credential

    client = RegistryClient(http, credentials, plain_http_hosts=plain, clock=clock or Clock())
    return client, asked


def basic(credential: RegistryCredential) -> str:
    pair = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def challenged() -> httpx.Response:
    return httpx.Response(401, headers={"www-authenticate": CHALLENGE})


def found(digest: str = DIGEST) -> httpx.Response:
    return httpx.Response(200, headers={"docker-content-digest": digest})


# --- the bearer-token flow ----------------------------------------------------------------------


async def test_a_bearer_challenge_is_answered_with_a_token_from_the_realm(
    http: httpx.AsyncClient,
) -> None:
    client, asked = make_client(http)
    with respx.mock(assert_all_called=True) as mock:
        head = mock.head(MANIFEST).mock(side_effect=[challenged(), found()])
        token = mock.get(REALM).respond(200, json={"token": "t-1", "expires_in": 300})

        assert await client.manifest_digest(f"{HOST}/acme/web", "1.0") == DIGEST

    first, second = (call.request for call in head.calls)
    assert first.headers["accept"] == ACCEPT
    assert "authorization" not in first.headers
    (fetch,) = (call.request for call in token.calls)
    assert fetch.method == "GET"
    assert dict(fetch.url.params) == {
        "service": "registry.example.com",
        "scope": "repository:acme/web:pull",
    }
    assert fetch.headers["authorization"] == basic(ALICE)
    assert second.headers["authorization"] == "Bearer t-1"
    assert second.headers["accept"] == ACCEPT
    assert asked == [HOST]


async def test_a_token_is_kept_until_it_expires(http: httpx.AsyncClient) -> None:
    clock = Clock()
    client, _ = make_client(http, clock=clock)
    with respx.mock(assert_all_called=True) as mock:
        head = mock.head(MANIFEST).mock(
            side_effect=[challenged(), found(), found(), challenged(), found()]
        )
        token = mock.get(REALM).mock(
            side_effect=[
                httpx.Response(200, json={"token": "t-1", "expires_in": 300}),
                httpx.Response(200, json={"access_token": "t-2", "expires_in": 300}),
            ]
        )
        image = f"{HOST}/acme/web"
        assert await client.manifest_digest(image, "1.0") == DIGEST
        clock.now += 299
        assert await client.manifest_digest(image, "1.0") == DIGEST  # the kept token
        assert token.call_count == 1
        clock.now += 1  # expired: asked without it, challenged, a new token
        assert await client.manifest_digest(image, "1.0") == DIGEST

    sent = [call.request.headers.get("authorization") for call in head.calls]
    assert sent == [None, "Bearer t-1", "Bearer t-1", None, "Bearer t-2"]
    assert token.call_count == 2


async def test_a_kept_token_the_registry_refuses_is_replaced_once(http: httpx.AsyncClient) -> None:
    client, _ = make_client(http)
    with respx.mock(assert_all_called=True) as mock:
        head = mock.head(MANIFEST).mock(side_effect=[challenged(), found(), challenged(), found()])
        mock.get(REALM).mock(
            side_effect=[
                httpx.Response(200, json={"token": "t-1"}),
                httpx.Response(200, json={"token": "t-2"}),
            ]
        )
        await client.manifest_digest(f"{HOST}/acme/web", "1.0")
        await client.manifest_digest(f"{HOST}/acme/web", "1.0")
    sent = [call.request.headers.get("authorization") for call in head.calls]
    assert sent == [None, "Bearer t-1", "Bearer t-1", "Bearer t-2"]


async def test_without_a_credential_the_token_is_asked_for_anonymously(
    http: httpx.AsyncClient,
) -> None:
    client, _ = make_client(http, credential=None)
    with respx.mock(assert_all_called=True) as mock:
        mock.head(MANIFEST).mock(side_effect=[challenged(), found()])
        token = mock.get(REALM).respond(200, json={"token": "anonymous"})
        assert await client.manifest_digest(f"{HOST}/acme/web", "1.0") == DIGEST
    assert "authorization" not in token.calls[0].request.headers


@pytest.mark.parametrize(
    ("credential", "said"),
    [(ALICE, "refused the credential"), (None, "wants a credential; none is set")],
)
async def test_a_token_service_that_refuses_is_an_error_without_the_password(
    http: httpx.AsyncClient, credential: RegistryCredential | None, said: str
) -> None:
    client, _ = make_client(http, credential=credential)
    with respx.mock(assert_all_called=True) as mock:
        mock.head(MANIFEST).mock(side_effect=[challenged()])
        mock.get(REALM).respond(401, json={"details": "incorrect username or password"})
        with pytest.raises(RegistryError) as raised:
            await client.manifest_digest(f"{HOST}/acme/web", "1.0")
    assert str(raised.value) == f"{HOST}/acme/web:1.0: {HOST}'s token service {said}"
    assert not raised.value.retryable
    assert "s3cret-pass" not in str(raised.value)


async def test_a_token_refused_by_the_registry_after_the_challenge_is_an_error(
    http: httpx.AsyncClient,
) -> None:
    client, _ = make_client(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.head(MANIFEST).mock(side_effect=[challenged(), challenged()])
        mock.get(REALM).respond(200, json={"token": "t-1"})
        with pytest.raises(RegistryError, match="refused the credential Shipyard has for it"):
            await client.manifest_digest(f"{HOST}/acme/web", "1.0")


async def test_a_plain_http_realm_on_a_remote_host_is_refused(http: httpx.AsyncClient) -> None:
    client, asked = make_client(http)
    header = 'Bearer realm="http://auth.example.com/token",service="r"'
    with respx.mock(assert_all_called=True) as mock:
        mock.head(MANIFEST).respond(401, headers={"www-authenticate": header})
        with pytest.raises(RegistryError, match="token service is plain HTTP"):
            await client.manifest_digest(f"{HOST}/acme/web", "1.0")
    assert asked == []  # no credential was even looked up


# --- basic auth, the GET fallback, errors ----------------------------------------------------


async def test_a_basic_challenge_is_answered_with_the_login_and_then_sent_at_once(
    http: httpx.AsyncClient,
) -> None:
    client, _ = make_client(http)
    with respx.mock(assert_all_called=True) as mock:
        head = mock.head(MANIFEST).mock(
            side_effect=[
                httpx.Response(401, headers={"www-authenticate": 'Basic realm="Registry"'}),
                found(),
                found(),
            ]
        )
        await client.manifest_digest(f"{HOST}/acme/web", "1.0")
        await client.manifest_digest(f"{HOST}/acme/web", "1.0")
    sent = [call.request.headers.get("authorization") for call in head.calls]
    assert sent == [None, basic(ALICE), basic(ALICE)]


async def test_without_a_digest_header_the_manifest_is_fetched_and_hashed(
    http: httpx.AsyncClient,
) -> None:
    body = b'{"schemaVersion": 2}'
    client, _ = make_client(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.head(MANIFEST).respond(200)
        get = mock.get(MANIFEST).respond(200, content=body)
        digest = await client.manifest_digest(f"{HOST}/acme/web", "1.0")
    assert digest == "sha256:" + hashlib.sha256(body).hexdigest()
    assert get.calls[0].request.headers["accept"] == ACCEPT


@pytest.mark.parametrize(
    ("answer", "retryable", "said"),
    [
        (httpx.Response(404), True, "the registry has no such image or tag"),
        (
            httpx.Response(400, json={"errors": [{"code": "NAME_UNKNOWN"}]}),
            True,
            "the registry has no such image or tag",
        ),
        (httpx.Response(403), False, f"{HOST} does not let Shipyard's credential pull it"),
        (httpx.Response(503), True, f"{HOST} answered 503; try again later"),
        (httpx.Response(429), True, f"{HOST} answered 429; try again later"),
        (httpx.Response(302), False, f"{HOST} answered 302"),
        (
            found("sha256:short"),
            False,
            "the registry answered a digest that is not sha256:<64 hex>: 'sha256:short'",
        ),
        (found("md5:" + "a" * 32), False, "not sha256:<64 hex>"),
        (
            httpx.Response(401, headers={"www-authenticate": 'Negotiate realm="x"'}),
            False,
            f"{HOST} asks for an authentication Shipyard lacks",
        ),
    ],
)
async def test_what_the_registry_answers_is_told_apart(
    http: httpx.AsyncClient, answer: httpx.Response, retryable: bool, said: str
) -> None:
    client, _ = make_client(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.head(MANIFEST).mock(return_value=answer)
        with pytest.raises(RegistryError) as raised:
            await client.manifest_digest(f"{HOST}/acme/web", "1.0")
    assert said in str(raised.value)
    assert str(raised.value).startswith(f"{HOST}/acme/web:1.0: ")
    assert raised.value.retryable is retryable
    assert isinstance(raised.value, ImageNotFound) is (said.startswith("the registry has no"))


async def test_a_transport_failure_is_retryable(http: httpx.AsyncClient) -> None:
    client, _ = make_client(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.head(MANIFEST).mock(side_effect=httpx.ReadTimeout("timed out"))
        with pytest.raises(RegistryError) as raised:
            await client.manifest_digest(f"{HOST}/acme/web", "1.0")
    assert str(raised.value) == (
        f"{HOST}/acme/web:1.0: could not reach {HOST}: ReadTimeout: timed out"
    )
    assert raised.value.retryable


async def test_a_credential_lookup_that_fails_is_a_registry_error(http: httpx.AsyncClient) -> None:
    async def credentials(host: str) -> RegistryCredential | None:
        raise LookupError("env://REGISTRY_TOKEN is not set")

    client = RegistryClient(http, credentials)
    with respx.mock(assert_all_called=True) as mock:
        mock.head(MANIFEST).respond(401, headers={"www-authenticate": 'Basic realm="r"'})
        with pytest.raises(RegistryError) as raised:
            await client.manifest_digest(f"{HOST}/acme/web", "1.0")
    assert str(raised.value).endswith(
        f"no usable credential for {HOST}: env://REGISTRY_TOKEN is not set"
    )


@pytest.mark.parametrize(
    ("image", "plain", "url"),
    [
        ("nginx", (), "https://registry-1.docker.io/v2/library/nginx/manifests/1.0"),
        ("acme/web", (), "https://registry-1.docker.io/v2/acme/web/manifests/1.0"),
        ("127.0.0.1:5000/acme/web", (), "http://127.0.0.1:5000/v2/acme/web/manifests/1.0"),
        ("localhost:5000/web", (), "http://localhost:5000/v2/web/manifests/1.0"),
        (
            "registry.lan:5000/web",
            ("registry.lan:5000",),
            "http://registry.lan:5000/v2/web/manifests/1.0",
        ),
        (
            "registry.lan:5000/web",
            ("registry.lan",),
            "https://registry.lan:5000/v2/web/manifests/1.0",
        ),
    ],
)
async def test_where_the_manifest_is_asked_for(
    http: httpx.AsyncClient, image: str, plain: tuple[str, ...], url: str
) -> None:
    client, _ = make_client(http, plain=plain)
    with respx.mock(assert_all_called=True) as mock:
        mock.head(url).mock(return_value=found())
        assert await client.manifest_digest(image, "1.0") == DIGEST


@pytest.mark.parametrize(
    ("image", "tag"),
    [("Acme/Web", "1.0"), ("acme/web:1.0", "1.0"), ("acme/web", "../x"), ("acme/web", "")],
)
async def test_what_is_no_reference_or_tag_is_refused_before_any_request(
    http: httpx.AsyncClient, image: str, tag: str
) -> None:
    client, _ = make_client(http)
    with respx.mock(assert_all_called=False) as mock:
        with pytest.raises(RegistryError) as raised:
            await client.manifest_digest(image, tag)
        assert not mock.calls
    assert str(raised.value).startswith(f"{image}:{tag}: ")


# --- the pure parts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "host", "name"),
    [
        ("registry.example.com/acme/web", "registry.example.com", "acme/web"),
        ("127.0.0.1:5000/acme/web", "127.0.0.1:5000", "acme/web"),
        ("localhost/web", "localhost", "web"),
        ("[::1]:5000/web", "[::1]:5000", "web"),
        ("ghcr.io/acme/team/web", "ghcr.io", "acme/team/web"),
        ("Registry.Example.com/acme/web", "registry.example.com", "acme/web"),
        ("nginx", "registry-1.docker.io", "library/nginx"),
        ("acme/web", "registry-1.docker.io", "acme/web"),
        ("docker.io/nginx", "registry-1.docker.io", "library/nginx"),
        ("index.docker.io/acme/web", "registry-1.docker.io", "acme/web"),
        ("acme/my_web-app.v2", "registry-1.docker.io", "acme/my_web-app.v2"),
    ],
)
def test_a_reference_splits_into_host_and_name(image: str, host: str, name: str) -> None:
    assert split_reference(image) == ImageReference(host, name)


@pytest.mark.parametrize(
    "image",
    ["", "registry.example.com/", "acme/Web", "acme//web", "acme/web:1.0", "acme/-web", "a b"],
)
def test_what_is_no_reference(image: str) -> None:
    with pytest.raises(ValueError, match="is not an image reference"):
        split_reference(image)


@pytest.mark.parametrize(
    ("header", "challenge"),
    [
        (
            CHALLENGE,
            Challenge(
                "bearer",
                {
                    "realm": REALM,
                    "service": "registry.example.com",
                    "scope": "repository:acme/web:pull",
                },
            ),
        ),
        ('Basic realm="Registry Realm"', Challenge("basic", {"realm": "Registry Realm"})),
        ("basic", Challenge("basic", {})),
        (
            'Bearer realm="https://a/t", scope="repository:a:pull,push" , service=reg',
            Challenge(
                "bearer",
                {"realm": "https://a/t", "scope": "repository:a:pull,push", "service": "reg"},
            ),
        ),
        ('Bearer Realm="x\\"y"', Challenge("bearer", {"realm": 'x"y'})),
        (
            'Bearer error="insufficient_scope",realm="r"',
            Challenge("bearer", {"error": "insufficient_scope", "realm": "r"}),
        ),
    ],
)
def test_a_challenge_is_read(header: str, challenge: Challenge) -> None:
    assert parse_challenge(header) == challenge


@pytest.mark.parametrize("header", ["", "   ", '"Bearer"', 'Bearer realm="unclosed', "Bearer =x"])
def test_what_is_no_challenge(header: str) -> None:
    assert parse_challenge(header) is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("LOCALHOST:5000", True),
        ("127.0.0.1", True),
        ("127.1.2.3:5000", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("128.0.0.1:5000", False),
        ("registry.example.com", False),
        ("localhost.example.com", False),
        ("10.0.0.1:5000", False),
    ],
)
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("secret", "credential"),
    [
        ("alice:s3cret", RegistryCredential("alice", "s3cret")),
        ("alice:pa:ss", RegistryCredential("alice", "pa:ss")),
        ("ghp_abcdef", RegistryCredential("token", "ghp_abcdef")),
        (":leading-colon", RegistryCredential("token", ":leading-colon")),
    ],
)
def test_a_credential_is_read_from_its_secret(secret: str, credential: RegistryCredential) -> None:
    assert RegistryCredential.parse(secret) == credential


def test_a_credential_never_shows_its_password() -> None:
    assert "s3cret" not in repr(RegistryCredential("alice", "s3cret"))


@pytest.mark.parametrize(
    ("link", "current", "following"),
    [
        (None, "https://r.example/v2/_catalog?n=2", None),
        ("", "https://r.example/v2/_catalog?n=2", None),
        (
            '</v2/_catalog?last=b&n=2>; rel="next"',
            "https://r.example/v2/_catalog?n=2",
            "https://r.example/v2/_catalog?last=b&n=2",
        ),
        (
            "<https://r.example:5000/v2/a/tags/list?last=v1&n=2>; rel=next",
            "https://r.example:5000/v2/a/tags/list?n=2",
            "https://r.example:5000/v2/a/tags/list?last=v1&n=2",
        ),
        (
            '</v2/_catalog?last=a>; rel="prev", </v2/_catalog?last=c>; rel="next"',
            "https://r.example/v2/_catalog",
            "https://r.example/v2/_catalog?last=c",
        ),
        ('</v2/_catalog?last=a>; rel="prev"', "https://r.example/v2/_catalog", None),
        (
            '</v2/_catalog?last=a>; rel="first next"',
            "http://r/v2/_catalog",
            "http://r/v2/_catalog?last=a",
        ),
    ],
)
def test_the_next_page_of_a_link_header(
    link: str | None, current: str, following: str | None
) -> None:
    assert next_page(link, current) == following


@pytest.mark.parametrize(
    "link",
    [
        '<https://evil.example/v2/_catalog?last=b>; rel="next"',
        '<http://r.example/v2/_catalog?last=b>; rel="next"',  # https → http
        '<https://r.example:8443/v2/_catalog?last=b>; rel="next"',
    ],
)
def test_a_next_page_elsewhere_is_refused(link: str) -> None:
    with pytest.raises(ValueError, match="the next page is on another host"):
        next_page(link, "https://r.example/v2/_catalog?n=2")
