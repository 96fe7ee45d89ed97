"""A container registry over the Docker Registry HTTP API v2: manifest digests, the catalog of
repositories, a repository's tags, and whether it lets Shipyard in.

`RegistryClient.manifest_digest(image, tag)` answers the digest a tag points at (of the
manifest or index, as `docker pull` would pin it), with the registries' token and basic auth;
`repositories(host)` and `tags(ref)` read `_catalog` and `tags/list` page by page (`n=`, the
`Link` header); `ping(host)` and `sign_in(host)` ask `/v2/`. Splitting a reference, reading an
auth challenge and following a `Link` are pure functions below the client.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from app.auth.rules import is_loopback_name

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "Challenge",
    "CredentialLookup",
    "Failure",
    "ImageNotFound",
    "ImageReference",
    "Ping",
    "RegistryClient",
    "RegistryCredential",
    "RegistryError",
    "is_loopback",
    "is_repository_name",
    "next_page",
    "parse_challenge",
    "registry_host",
    "split_reference",
]

DOCKER_HUB = "registry-1.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", DOCKER_HUB})

# Asked for in this order: an index (list) first, so a multi-platform tag answers the digest
# `docker pull` pins, not one platform's.
MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_ACCEPT = ", ".join(MANIFEST_MEDIA_TYPES)

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# The distribution spec's grammar: path components of lower-case alphanumerics with
# separators; a tag of word characters, dots and dashes, at most 128.
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_NOT_FOUND_CODES = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})
TOKEN_DEFAULT_SECONDS = 60.0  # the token spec's default when `expires_in` is not given
PAGE_SIZE = 100  # entries asked for per page of the catalog or of a tag list
MAX_ENTRIES = 10_000  # a listing stops here, whatever the registry would still say

Failure = Literal[
    "not_found",  # no such repository, tag or catalog
    "unauthorized",  # the credential was refused, or a login is asked and none is set
    "forbidden",  # signed in, and not allowed
    "credential",  # the credential could not be read
    "unreachable",
    "timeout",
    "rate_limited",
    "unavailable",  # a 5xx
    "invalid",  # what was asked is not a reference or a tag
    "protocol",  # an answer Shipyard cannot use
]
_RETRYABLE: frozenset[Failure] = frozenset(
    {"not_found", "unreachable", "timeout", "rate_limited", "unavailable"}
)


class RegistryError(Exception):
    """The registry could not answer what was asked. `failure` says why; `retryable` when
    trying again later may help (a 5xx, a timeout, an image not pushed yet); not when the
    registry refused the credentials or answered nonsense. The message names what was asked
    (`image:tag`, or a registry's host for its catalog), never a credential."""

    def __init__(
        self,
        image: str,
        tag: str | None,
        reason: str,
        *,
        failure: Failure = "protocol",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{image}:{tag}: {reason}" if tag is not None else f"{image}: {reason}")
        self.image = image
        self.tag = tag
        self.reason = reason
        self.failure: Failure = failure
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.failure in _RETRYABLE


class ImageNotFound(RegistryError):
    """The registry has no such repository or tag (yet): 404, MANIFEST_UNKNOWN, NAME_UNKNOWN."""

    def __init__(
        self, image: str, tag: str | None, reason: str = "the registry has no such image or tag"
    ) -> None:
        super().__init__(image, tag, reason, failure="not_found")


@dataclass(frozen=True)
class RegistryCredential:
    """A username and password (or token) for one registry; the password never shows."""

    username: str
    password: str = field(repr=False)

    @classmethod
    def parse(cls, value: str) -> RegistryCredential:
        """From a resolved server-side reference: "user:password", or a bare token (then the
        username is "token", which GHCR, GitLab and Gitea accept with a token as password)."""
        username, colon, password = value.partition(":")
        if colon and username:
            return cls(username, password)
        return cls("token", value)


CredentialLookup = Callable[[str], Awaitable[RegistryCredential | None]]


async def _no_credentials(_host: str) -> RegistryCredential | None:
    return None


# --- pure parts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageReference:
    """Where an image lives: the registry's host (with its port) and the repository's name."""

    host: str
    name: str


def split_reference(image: str) -> ImageReference:
    """`registry.example.com/acme/web` → (registry.example.com, acme/web). A first part with
    no dot or colon that is not `localhost` is a Docker Hub path: `nginx` is
    (registry-1.docker.io, library/nginx). A tag or digest is given apart, never in `image`.
    ValueError when it is not a reference."""
    first, slash, rest = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, name = first.lower(), rest
    else:
        host, name = DOCKER_HUB, image
    if host in _HUB_ALIASES:
        host = DOCKER_HUB
        if "/" not in name:
            name = f"library/{name}"
    if not is_repository_name(name):
        raise ValueError(
            f"{image!r} is not an image reference (lower-case path components, "
            "e.g. registry.example.com/acme/web; give the tag apart)"
        )
    return ImageReference(host, name)


def registry_host(host: str) -> str:
    """`host[:port]` as images name it: lower case, Docker Hub's other names its own."""
    host = host.lower()
    return DOCKER_HUB if host in _HUB_ALIASES else host


def is_repository_name(name: str) -> bool:
    """Whether `name` is a repository's name in a registry (`acme/web`)."""
    return bool(name) and all(_COMPONENT.fullmatch(part) for part in name.split("/"))


@dataclass(frozen=True)
class Challenge:
    """A `WWW-Authenticate` challenge: its scheme, lower-cased, and its parameters."""

    scheme: str
    params: Mapping[str, str]


_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)')


def parse_challenge(header: str) -> Challenge | None:
    """`Bearer realm="https://auth.example.com/token",service="registry",scope="…"` →
    Challenge("bearer", {realm, service, scope}); None for a header that is not one."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", scheme):
        return None
    params: dict[str, str] = {}
    position, rest = 0, rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None:
            return None
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params[match.group(1).lower()] = value
        position = match.end()
    return Challenge(scheme.lower(), params)


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_REL_NEXT = re.compile(r';\s*rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)


def next_page(link: str | None, current: str) -> str | None:
    """The `rel="next"` address of a `Link` header (`</v2/_catalog?last=b&n=100>;
    rel="next"`), made absolute against `current`; None when there is no next page. ValueError
    when it is on another scheme, host or port: the next page is asked with the credential."""
    if not link:
        return None
    for match in _LINK.finditer(link):
        rels = {
            rel.lower() for found in _REL_NEXT.finditer(match.group(2)) for rel in found[1].split()
        }
        if "next" not in rels:
            continue
        here = httpx.URL(current)
        there = here.join(match.group(1))
        if (there.scheme, there.host, there.port) != (here.scheme, here.host, here.port):
            raise ValueError(f"the next page is on another host ({there.host})")
        return str(there)
    return None


def _hostname(host: str) -> str:
    """The name or address of `host[:port]`, brackets of an IPv6 address removed."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """Docker speaks plain HTTP to these without being told: localhost, 127.0.0.0/8, ::1."""
    return is_loopback_name(_hostname(host))


@dataclass(frozen=True)
class Ping:
    """What `GET /v2/` answered without a credential: its status and its challenge, if any."""

    status: int
    challenge: Challenge | None
    api_version: str | None  # the `Docker-Distribution-API-Version` header ("registry/2.0")


# --- the client ---------------------------------------------------------------------------------


@dataclass
class _Token:
    value: str
    until: float


@dataclass(frozen=True)
class _Target:
    """One request: where it goes, the token scope it needs, and what its errors name."""

    host: str
    url: str
    scope: str  # "" for /v2/ itself
    subject: str  # `image` of a RegistryError
    tag: str | None = None
    accept: str = _ACCEPT
    absent: str = "the registry has no such image or tag"
    forbidden: str = "pull it"

    def error(
        self, reason: str, failure: Failure = "protocol", retry_after: float | None = None
    ) -> RegistryError:
        return RegistryError(
            self.subject, self.tag, reason, failure=failure, retry_after=retry_after
        )


class RegistryClient:
    """Asks registries what a tag points at, what repositories and tags they have. `http` is
    the process's client; `credentials` gives a host's credential (looked up only when a
    registry asks for one; a LookupError it raises is a RegistryError naming the host);
    `plain_http_hosts` names the hosts (host[:port]) spoken to over plain HTTP besides the
    loopback ones, `https_hosts` loopback ones spoken to over HTTPS; `timeout` (seconds) is
    each request's, when given.

    Bearer tokens are kept per (host, scope) until their `expires_in`; a registry that asks
    for basic auth gets it on every later request too."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialLookup = _no_credentials,
        *,
        plain_http_hosts: Iterable[str] = (),
        https_hosts: Iterable[str] = (),
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._plain_http = frozenset(host.lower() for host in plain_http_hosts)
        self._https = frozenset(host.lower() for host in https_hosts)
        self._timeout_or_default = httpx.USE_CLIENT_DEFAULT if timeout is None else timeout
        self._clock = clock
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._basic_hosts: set[str] = set()

    def base_url(self, host: str) -> str:
        """`http://host` for loopback and plain-HTTP hosts, `https://host` otherwise."""
        return f"{'http' if self._plain(host) else 'https'}://{host}"

    def _plain(self, host: str) -> bool:
        host = host.lower()
        return host in self._plain_http or (is_loopback(host) and host not in self._https)

    # --- what callers ask -----------------------------------------------------------------

    async def manifest_digest(self, image: str, tag: str) -> str:
        """The `sha256:…` digest `tag` of `image` points at. ImageNotFound when the registry
        has no such image or tag, RegistryError when it could not be asked or would not say."""
        if not (_TAG.fullmatch(tag) or _DIGEST.fullmatch(tag)):
            raise RegistryError(
                image, tag, "not a tag (word characters, '.' and '-', ≤ 128)", failure="invalid"
            )
        try:
            ref = split_reference(image)
        except ValueError as error:
            raise RegistryError(image, tag, str(error), failure="invalid") from None
        return await self._digest(ref, tag, image)

    async def digest_of(self, ref: ImageReference, tag: str) -> str:
        """`manifest_digest` for a repository of a registry named apart (`ref.host` as is)."""
        image = f"{ref.host}/{ref.name}"
        if not (_TAG.fullmatch(tag) or _DIGEST.fullmatch(tag)):
            raise RegistryError(
                image, tag, "not a tag (word characters, '.' and '-', ≤ 128)", failure="invalid"
            )
        if not is_repository_name(ref.name):
            raise RegistryError(image, tag, "not a repository's name", failure="invalid")
        return await self._digest(ref, tag, image)

    async def _digest(self, ref: ImageReference, tag: str, image: str) -> str:
        url = f"{self.base_url(ref.host)}/v2/{ref.name}/manifests/{tag}"
        target = _Target(ref.host, url, f"repository:{ref.name}:pull", image, tag)
        head = await self._request(target, "HEAD")
        digest = head.headers.get("docker-content-digest")
        if digest is not None:
            return _checked(target, digest)
        got = await self._request(target, "GET")  # the registry did not say: hash the body
        return "sha256:" + hashlib.sha256(got.content).hexdigest()

    async def ping(self, host: str) -> Ping:
        """`GET /v2/` without a credential: whether a Registry API answers there at all.
        RegistryError only when it cannot be reached."""
        target = _Target(host, f"{self.base_url(host)}/v2/", "", host)
        response = await self._send(target, "GET", None)
        challenge = parse_challenge(response.headers.get("www-authenticate", ""))
        version = response.headers.get("docker-distribution-api-version")
        return Ping(response.status_code, challenge, version)

    async def sign_in(self, host: str) -> str:
        """`GET /v2/` as the registry asks, with the host's credential: "none" when it asked
        for none, "basic" or "bearer" when it let Shipyard in so. RegistryError otherwise
        (`unauthorized` when it refused the credential). A kept token is not reused: the
        credential is tried afresh."""
        target = _Target(host, f"{self.base_url(host)}/v2/", "", host, absent="no /v2/ API")
        self._tokens.pop((host, ""), None)
        await self._request(target, "GET")
        if self._cached_token(host, "") is not None:
            return "bearer"
        return "basic" if host in self._basic_hosts else "none"

    async def repositories(
        self, host: str, *, page: int = PAGE_SIZE, limit: int = MAX_ENTRIES
    ) -> list[str]:
        """The repositories `GET /v2/_catalog` lists, page by page, at most `limit`.
        ImageNotFound when the registry keeps no catalog (Docker Hub, GHCR)."""
        target = _Target(
            host,
            f"{self.base_url(host)}/v2/_catalog?n={page}",
            "registry:catalog:*",
            host,
            accept="application/json",
            absent="the registry lists no catalog of its repositories (GET /v2/_catalog)",
            forbidden="list its catalog",
        )
        return await self._listing(target, "repositories", limit)

    async def tags(
        self, ref: ImageReference, *, page: int = PAGE_SIZE, limit: int = MAX_ENTRIES
    ) -> list[str]:
        """The tags `GET /v2/<name>/tags/list` lists, page by page, at most `limit`.
        ImageNotFound when the registry has no such repository."""
        image = f"{ref.host}/{ref.name}"
        if not is_repository_name(ref.name):
            raise RegistryError(image, None, "not a repository's name", failure="invalid")
        target = _Target(
            ref.host,
            f"{self.base_url(ref.host)}/v2/{ref.name}/tags/list?n={page}",
            f"repository:{ref.name}:pull",
            image,
            accept="application/json",
            absent="the registry has no such repository",
        )
        return await self._listing(target, "tags", limit)

    # --- the protocol ---------------------------------------------------------------------

    async def _listing(self, target: _Target, key: str, limit: int) -> list[str]:
        found: list[str] = []
        url: str | None = target.url
        seen: set[str] = set()
        while url is not None and url not in seen and len(found) < limit:
            seen.add(url)
            response = await self._request(replace(target, url=url), "GET")
            found.extend(_names(target, response, key))
            try:
                url = next_page(response.headers.get("link"), url)
            except ValueError as error:
                raise target.error(f"{error}: not followed") from None
        return found[:limit]

    async def _request(self, target: _Target, method: str) -> httpx.Response:
        """The request, authorised as the registry asks (once more after a challenge)."""
        try:
            return await self._authorised(target, method)
        except httpx.HTTPError as error:
            raise _unreachable(target, error) from None

    async def _authorised(self, target: _Target, method: str) -> httpx.Response:
        host = target.host
        authorization = None
        token = self._cached_token(host, target.scope)
        if token is not None:
            authorization = f"Bearer {token}"
        elif host in self._basic_hosts:
            authorization = await self._basic(target)
        response = await self._send(target, method, authorization)
        if response.status_code == 401:
            challenge = response.headers.get("www-authenticate", "")
            authorization = await self._answer(target, challenge)
            response = await self._send(target, method, authorization)
            if response.status_code == 401:
                raise target.error(
                    f"{host} refused the credential Shipyard has for it", "unauthorized"
                )
        return _ok(target, response)

    async def _send(
        self, target: _Target, method: str, authorization: str | None
    ) -> httpx.Response:
        headers = {"accept": target.accept}
        if authorization is not None:
            headers["authorization"] = authorization
        try:
            return await self._http.request(
                method, target.url, headers=headers, timeout=self._timeout_or_default
            )
        except httpx.HTTPError as error:
            raise _unreachable(target, error) from None

    async def _basic(self, target: _Target) -> str:
        credential = await self._credential(target)
        if credential is None:
            reason = f"{target.host} asks for a login and Shipyard has no credential for it"
            raise target.error(reason, "unauthorized")
        return _basic_header(credential)

    async def _answer(self, target: _Target, header: str) -> str:
        """The Authorization header that answers the registry's challenge."""
        challenge = parse_challenge(header)
        if challenge is None or challenge.scheme not in ("bearer", "basic"):
            raise target.error(f"{target.host} asks for an authentication Shipyard lacks")
        if challenge.scheme == "basic":
            self._basic_hosts.add(target.host)
            return await self._basic(target)
        scope = challenge.params.get("scope") or target.scope
        return f"Bearer {await self._token(target, challenge.params, scope)}"

    async def _token(self, target: _Target, params: Mapping[str, str], scope: str) -> str:
        """A token from the challenge's realm (with the host's credential, if it has one)."""
        host = target.host
        realm = params.get("realm", "")
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise target.error(f"{host} names no token service Shipyard can ask")
        realm_host = parts.netloc.rpartition("@")[2]
        if parts.scheme == "http" and not self._plain(realm_host):
            raise target.error(f"{host}'s token service is plain HTTP ({realm_host}): refused")
        query = {"service": params["service"]} if "service" in params else {}
        if scope:
            query["scope"] = scope
        credential = await self._credential(target)
        headers = {"authorization": _basic_header(credential)} if credential else {}
        answer = await self._http.get(
            realm, params=query, headers=headers, timeout=self._timeout_or_default
        )
        status = answer.status_code
        if status in (401, 403):
            said = "refused the credential" if credential else "wants a credential; none is set"
            raise target.error(f"{host}'s token service {said}", "unauthorized")
        if status != 200:
            failure: Failure = "protocol"
            if status == 429:
                failure = "rate_limited"
            elif status >= 500:
                failure = "unavailable"
            raise target.error(f"{host}'s token service answered {status}", failure)
        value, seconds = _read_token(answer)
        if value is None:
            raise target.error(f"{host}'s token service answered no token")
        self._tokens[(host, scope)] = _Token(value, self._clock() + seconds)
        return value

    async def _credential(self, target: _Target) -> RegistryCredential | None:
        try:
            return await self._credentials(target.host)
        except LookupError as error:
            raise target.error(
                f"no usable credential for {target.host}: {error}", "credential"
            ) from None

    def _cached_token(self, host: str, scope: str) -> str | None:
        token = self._tokens.get((host, scope))
        if token is None or token.until <= self._clock():
            self._tokens.pop((host, scope), None)
            return None
        return token.value


def _checked(target: _Target, digest: str) -> str:
    if not _DIGEST.fullmatch(digest.strip()):
        shown = digest[:80].encode("ascii", "replace").decode()
        raise target.error(f"the registry answered a digest that is not sha256:<64 hex>: {shown!r}")
    return digest.strip()


def _ok(target: _Target, response: httpx.Response) -> httpx.Response:
    status, host = response.status_code, target.host
    if status == 404 or _error_codes(response) & _NOT_FOUND_CODES:
        raise ImageNotFound(target.subject, target.tag, target.absent)
    if status == 403:
        raise target.error(
            f"{host} does not let Shipyard's credential {target.forbidden}", "forbidden"
        )
    if status == 429:
        after = _seconds(response.headers.get("retry-after"))
        raise target.error(f"{host} answered 429; try again later", "rate_limited", after)
    if status >= 500:
        raise target.error(f"{host} answered {status}; try again later", "unavailable")
    if status != 200:
        raise target.error(f"{host} answered {status}")
    return response


def _names(target: _Target, response: httpx.Response, key: str) -> list[str]:
    """The `key` list of a catalog or tag-list page (`"tags": null` is an empty repository)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    values = body.get(key, ...) if isinstance(body, dict) else ...
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise target.error(f"{target.host} answered no {key} list")
    return values


def _unreachable(target: _Target, error: httpx.HTTPError) -> RegistryError:
    failure: Failure = "timeout" if isinstance(error, httpx.TimeoutException) else "unreachable"
    return target.error(f"could not reach {target.host}: {_describe(error)}", failure)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _read_token(answer: httpx.Response) -> tuple[str | None, float]:
    """`token` (or OAuth's `access_token`) and its `expires_in`, from a token answer."""
    try:
        body: Any = answer.json()
    except ValueError:
        return None, 0.0
    if not isinstance(body, dict):
        return None, 0.0
    value = body.get("token") or body.get("access_token")
    expires = body.get("expires_in")
    seconds = TOKEN_DEFAULT_SECONDS
    if isinstance(expires, int | float) and not isinstance(expires, bool) and expires > 0:
        seconds = float(expires)
    return (value if isinstance(value, str) and value else None), seconds


def _basic_header(credential: RegistryCredential) -> str:
    pair = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _error_codes(response: httpx.Response) -> set[str]:
    """The `errors[].code` of an error answer (a HEAD's has no body)."""
    if response.status_code < 400 or not response.content:
        return set()
    try:
        body = response.json()
    except ValueError:
        return set()
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return set()
    return {e["code"] for e in errors if isinstance(e, dict) and isinstance(e.get("code"), str)}


def _describe(error: httpx.HTTPError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
