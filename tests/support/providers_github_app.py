"""A GitHub App for provider tests: a real RSA key, and the checks GitHub makes of the App's JWT."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = 123456
INSTALLATION_ID = 55
TOKEN_PATH = f"/app/installations/{INSTALLATION_ID}/access_tokens"


@cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem() -> str:
    return (
        _key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_pem() -> bytes:
    return (
        _key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def app_jwt_of(request: httpx.Request, now: float) -> str:
    """The JWT a request carries, checked as GitHub checks it: RS256, signed by the App's
    key, issued by the App, backdated a minute, at most ten minutes long, not expired."""
    scheme, _, app_jwt = request.headers["authorization"].partition(" ")
    assert scheme.lower() == "bearer"
    assert jwt.get_unverified_header(app_jwt)["alg"] == "RS256"
    claims = jwt.decode(
        app_jwt,
        public_pem(),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp", "iss"]},
    )
    assert claims["iss"] == str(APP_ID)
    assert claims["iat"] <= now - 60
    assert now < claims["exp"] <= claims["iat"] + 600
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == "shipyard"
    return app_jwt


class TokenEndpoint:
    """POST /app/installations/{id}/access_tokens: checks the JWT, keeps each request's JSON
    body (None when it has none), and mints ghs_minted1, ghs_minted2, …"""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.bodies: list[Any] = []
        self.issued: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        app_jwt_of(request, self.now())
        if request.content:
            assert request.headers["content-type"].startswith("application/json")
            self.bodies.append(json.loads(request.content))
        else:
            self.bodies.append(None)
        token = f"ghs_minted{len(self.issued) + 1}"
        self.issued.append(token)
        expires_at = datetime.fromtimestamp(self.now() + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return httpx.Response(201, json={"token": token, "expires_at": expires_at})
