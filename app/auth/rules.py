"""The rules of sign-in as functions over data: when pages are open without it, which `next`
paths a sign-in may return to, who the admins are, which host signs in for which provider."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_NEXT",
    "is_loopback_name",
    "is_proxy_header",
    "open_without_sign_in",
    "parse_admins",
    "safe_next",
    "sign_in_host",
]

DEFAULT_NEXT = "/runs"
_MAX_NEXT = 2000
# Paths of the sign-in itself: returning to them after signing in would go round in a circle.
_NOT_NEXT = ("/login", "/logout", "/auth/")
# Forgejo is signed in to through the Gitea settings (GITEA_URL): the same server.
_SIGN_IN_HOST = {"github": "github", "gitlab": "gitlab", "gitea": "gitea", "forgejo": "gitea"}


def is_loopback_name(name: str | None) -> bool:
    """`localhost`, or an address of the loopback range (127.0.0.0/8, ::1)."""
    if not name:
        return False
    name = name.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_proxy_header(name: str) -> bool:
    """A header a reverse proxy adds: `Forwarded`, any `X-Forwarded-*`, `X-Real-IP`."""
    name = name.lower()
    return name in ("forwarded", "x-real-ip") or name.startswith("x-forwarded-")


def open_without_sign_in(bind_host: str, public_url: str, header_names: Iterable[str]) -> bool:
    """Pages are open only to a server on loopback that nobody reaches any other way: bound to
    loopback (SHIPYARD_HOST), known by a loopback URL (SHIPYARD_PUBLIC_URL), and the request
    carries no proxy header — a reverse proxy on the same host does not count as loopback.
    The peer address is never asked: behind a local proxy every peer is 127.0.0.1."""
    return (
        is_loopback_name(bind_host)
        and is_loopback_name(urlsplit(public_url).hostname)
        and not any(is_proxy_header(name) for name in header_names)
    )


def safe_next(value: str | None, default: str = DEFAULT_NEXT) -> str:
    """`value` if it is a path on this origin (`/runs/1?x=y`), else `default`: no scheme, no
    host, no `//` or backslash (which browsers read as another host), no control characters
    (browsers drop tabs and newlines, turning `/\\t/evil` into `//evil`)."""
    if not value or len(value) > _MAX_NEXT or not value.startswith("/"):
        return default
    if value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    if parts.path == "/login" or parts.path.startswith(_NOT_NEXT):
        return default
    return value


def parse_admins(text: str) -> frozenset[tuple[str, str]]:
    """SHIPYARD_ADMINS (`github:alice, gitlab:bob`) as (sign-in host, login) pairs; logins
    compare case-insensitively, as every host treats them. Entries without a host are ignored."""
    admins: set[tuple[str, str]] = set()
    for entry in text.replace(";", ",").split(","):
        host, colon, login = entry.strip().partition(":")
        host = host.strip().lower()
        if colon and login.strip() and host in _SIGN_IN_HOST:
            admins.add((_SIGN_IN_HOST[host], login.strip().casefold()))
    return frozenset(admins)


def sign_in_host(provider: str) -> str | None:
    """The host whose sign-in vouches for users of `provider` (Forgejo: gitea); None if unknown."""
    return _SIGN_IN_HOST.get(provider.lower())
