"""Signed, expiring cookie values (HMAC-SHA256 over JSON), and the two Shipyard sets: the
session after sign-in, and the sign-in attempt between `/auth/{host}/start` and the callback.

A value is `<base64url JSON>.<base64url HMAC>`; the HMAC also covers the value's purpose, so a
sign-in attempt can never be presented as a session. Readable by whoever holds the cookie,
which is why neither holds anything secret beyond what that browser already has.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ATTEMPT_COOKIE",
    "ATTEMPT_SECONDS",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "Attempt",
    "Session",
    "open_attempt",
    "open_session",
    "seal",
    "seal_attempt",
    "seal_session",
    "unseal",
]

SESSION_COOKIE = "shipyard_session"
SESSION_SECONDS = 12 * 3600
ATTEMPT_COOKIE = "shipyard_sign_in"
ATTEMPT_SECONDS = 10 * 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, body: str) -> str:
    return _b64(hmac.new(key, f"{purpose}\x00{body}".encode(), hashlib.sha256).digest())


def seal(key: bytes, purpose: str, values: dict[str, Any], *, expires: float) -> str:
    body = _b64(json.dumps({**values, "exp": int(expires)}, separators=(",", ":")).encode())
    return f"{body}.{_mac(key, purpose, body)}"


def unseal(key: bytes, purpose: str, sealed: str | None, *, now: float) -> dict[str, Any] | None:
    """The values, if `sealed` was made with `key` for `purpose` and has not expired."""
    if not sealed or sealed.count(".") != 1:
        return None
    body, mac = sealed.split(".")
    if not hmac.compare_digest(mac, _mac(key, purpose, body)):
        return None
    try:
        values = json.loads(_unb64(body))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(values, dict) or not isinstance(values.get("exp"), int):
        return None
    return values if values["exp"] > now else None


@dataclass(frozen=True)
class Session:
    """Who signed in, where; the token their forms carry; when it ends (epoch seconds)."""

    host: str
    login: str
    csrf: str
    expires: float


@dataclass(frozen=True)
class Attempt:
    """A sign-in under way: the `state` the host must hand back, the PKCE verifier, and
    where to go afterwards."""

    host: str
    state: str
    verifier: str
    next: str
    expires: float


def seal_session(key: bytes, session: Session) -> str:
    values = {"h": session.host, "l": session.login, "c": session.csrf}
    return seal(key, "session", values, expires=session.expires)


def open_session(key: bytes, sealed: str | None, *, now: float) -> Session | None:
    values = unseal(key, "session", sealed, now=now)
    if values is None or not all(isinstance(values.get(k), str) for k in ("h", "l", "c")):
        return None
    return Session(values["h"], values["l"], values["c"], values["exp"])


def seal_attempt(key: bytes, attempt: Attempt) -> str:
    values = {"h": attempt.host, "s": attempt.state, "v": attempt.verifier, "n": attempt.next}
    return seal(key, "sign-in", values, expires=attempt.expires)


def open_attempt(key: bytes, sealed: str | None, *, now: float) -> Attempt | None:
    values = unseal(key, "sign-in", sealed, now=now)
    if values is None or not all(isinstance(values.get(k), str) for k in ("h", "s", "v", "n")):
        return None
    return Attempt(values["h"], values["s"], values["v"], values["n"], values["exp"])
