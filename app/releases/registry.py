"""A container registry's manifest digests, over the Docker Registry HTTP API v2.

`RegistryClient.manifest_digest(image, tag)` answers the digest a tag points at (of the
manifest or index, as `docker pull` would pin it), with the registries' token and basic auth.
Splitting a reference and reading an auth challenge are pure functions below the client.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.auth.rules import is_loopback_name

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "Challenge",
    "CredentialLookup",
    "ImageNotFound",
    "ImageReference",
    "RegistryClient",
    "RegistryCredential",
    "RegistryError",
    "is_loopback",
    "parse_challenge",
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


class RegistryError(Exception):
    """The registry could not say what the tag points at. `retryable` when trying again later
    may help (a 5xx, a timeout); not when the registry refused the credentials or answered
    nonsense. The message names the image and tag, never a credential."""

    def __init__(self, image: str, tag: str, reason: str, *, retryable: bool = False) -> None:
        super().__init__(f"{image}:{tag}: {reason}")
        self.image = image
        self.tag = tag
        self.reason = reason
        self.retryable = retryable


class ImageNotFound(RegistryError):
    """The registry has no such repository or tag (yet): 404, MANIFEST_UNKNOWN, NAME_UNKNOWN."""

    def __init__(self, image: str, tag: str) -> None:
        super().__init__(image, tag, "the registry has no such image or tag", retryable=True)


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
    if not name or not all(_COMPONENT.fullmatch(part) for part in name.split("/")):
        raise ValueError(
            f"{image!r} is not an image reference (lower-case path components, "
            "e.g. registry.example.com/acme/web; give the tag apart)"
        )
    return ImageReference(host, name)


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


def _hostname(host: str) -> str:
    """The name or address of `host[:port]`, brackets of an IPv6 address removed."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """Docker speaks plain HTTP to these without being told: localhost, 127.0.0.0/8, ::1."""
    return is_loopback_name(_hostname(host))


# --- the client ---------------------------------------------------------------------------------


@dataclass
class _Token:
    value: str
    until: float


@dataclass(frozen=True)
class _Target:
    """One `manifest_digest` call: what it asks for, and where."""

    ref: ImageReference
    image: str
    tag: str
    url: str

    @property
    def scope(self) -> str:
        return f"repository:{self.ref.name}:pull"

    def error(self, reason: str, *, retryable: bool = False) -> RegistryError:
        return RegistryError(self.image, self.tag, reason, retryable=retryable)


class RegistryClient:
    """Asks registries what a tag points at. `http` is the process's client; `credentials`
    gives a host's credential (looked up only when a registry asks for one; a LookupError it
    raises is a RegistryError naming the host); `plain_http_hosts` names the hosts
    (host[:port]) spoken to over plain HTTP besides the loopback ones.

    Bearer tokens are kept per (host, scope) until their `expires_in`; a registry that asks
    for basic auth gets it on every later request too."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialLookup = _no_credentials,
        *,
        plain_http_hosts: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._plain_http = frozenset(host.lower() for host in plain_http_hosts)
        self._clock = clock
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._basic_hosts: set[str] = set()

    def base_url(self, host: str) -> str:
        """`http://host` for loopback and plain-HTTP hosts, `https://host` otherwise."""
        return f"{'http' if self._plain(host) else 'https'}://{host}"

    def _plain(self, host: str) -> bool:
        return is_loopback(host) or host.lower() in self._plain_http

    async def manifest_digest(self, image: str, tag: str) -> str:
        """The `sha256:…` digest `tag` of `image` points at. ImageNotFound when the registry
        has no such image or tag, RegistryError when it could not be asked or would not say."""
        if not (_TAG.fullmatch(tag) or _DIGEST.fullmatch(tag)):
            raise RegistryError(image, tag, "not a tag (word characters, '.' and '-', ≤ 128)")
        try:
            ref = split_reference(image)
        except ValueError as error:
            raise RegistryError(image, tag, str(error)) from None
        target = _Target(
            ref, image, tag, f"{self.base_url(ref.host)}/v2/{ref.name}/manifests/{tag}"
        )
        try:
            head = await self._request(target, "HEAD")
            digest = head.headers.get("docker-content-digest")
            if digest is not None:
                return _checked(target, digest)
            got = await self._request(target, "GET")  # the registry did not say: hash the body
            return "sha256:" + hashlib.sha256(got.content).hexdigest()
        except httpx.HTTPError as error:
            reason = f"could not reach {ref.host}: {_describe(error)}"
            raise target.error(reason, retryable=True) from None

    async def _request(self, target: _Target, method: str) -> httpx.Response:
        """The request, authorised as the registry asks (once more after a challenge)."""
        host = target.ref.host
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
                raise target.error(f"{host} refused the credential Shipyard has for it")
        return _ok(target, response)

    async def _send(
        self, target: _Target, method: str, authorization: str | None
    ) -> httpx.Response:
        headers = {"accept": _ACCEPT}
        if authorization is not None:
            headers["authorization"] = authorization
        return await self._http.request(method, target.url, headers=headers)

    async def _basic(self, target: _Target) -> str:
        credential = await self._credential(target)
        if credential is None:
            reason = f"{target.ref.host} asks for a login and Shipyard has no credential for it"
            raise target.error(reason)
        return _basic_header(credential)

    async def _answer(self, target: _Target, header: str) -> str:
        """The Authorization header that answers the registry's challenge."""
        challenge = parse_challenge(header)
        if challenge is None or challenge.scheme not in ("bearer", "basic"):
            raise target.error(f"{target.ref.host} asks for an authentication Shipyard lacks")
        if challenge.scheme == "basic":
            self._basic_hosts.add(target.ref.host)
            return await self._basic(target)
        scope = challenge.params.get("scope") or target.scope
        return f"Bearer {await self._token(target, challenge.params, scope)}"

    async def _token(self, target: _Target, params: Mapping[str, str], scope: str) -> str:
        """A token from the challenge's realm (with the host's credential, if it has one)."""
        host = target.ref.host
        realm = params.get("realm", "")
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise target.error(f"{host} names no token service Shipyard can ask")
        realm_host = parts.netloc.rpartition("@")[2]
        if parts.scheme == "http" and not self._plain(realm_host):
            raise target.error(f"{host}'s token service is plain HTTP ({realm_host}): refused")
        query = {"service": params["service"]} if "service" in params else {}
        credential = await self._credential(target)
        headers = {"authorization": _basic_header(credential)} if credential else {}
        answer = await self._http.get(realm, params={**query, "scope": scope}, headers=headers)
        status = answer.status_code
        if status in (401, 403):
            said = "refused the credential" if credential else "wants a credential; none is set"
            raise target.error(f"{host}'s token service {said}")
        if status != 200:
            retryable = status >= 500 or status == 429
            raise target.error(f"{host}'s token service answered {status}", retryable=retryable)
        value, seconds = _read_token(answer)
        if value is None:
            raise target.error(f"{host}'s token service answered no token")
        self._tokens[(host, scope)] = _Token(value, self._clock() + seconds)
        return value

    async def _credential(self, target: _Target) -> RegistryCredential | None:
        try:
            return await self._credentials(target.ref.host)
        except LookupError as error:
            raise target.error(f"no usable credential for {target.ref.host}: {error}") from None

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
    status, host = response.status_code, target.ref.host
    if status == 404 or _error_codes(response) & _NOT_FOUND_CODES:
        raise ImageNotFound(target.image, target.tag)
    if status == 403:
        raise target.error(f"{host} does not let Shipyard's credential pull it")
    if status >= 500 or status == 429:
        raise target.error(f"{host} answered {status}; try again later", retryable=True)
    if status != 200:
        raise target.error(f"{host} answered {status}")
    return response


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
