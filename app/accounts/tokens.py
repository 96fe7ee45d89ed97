"""Service-account tokens: made from 256 bits of randomness, stored only as their SHA-256.

A slow password hash would add nothing here: the token is random, not chosen by a person, so
there is no dictionary to guess from, and the API looks a token up on every call.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["TOKEN_PREFIX", "hash_token", "looks_like_token", "new_token"]

TOKEN_PREFIX = "shipyard_sa_"  # noqa: S105 (a prefix, not a secret)
TOKEN_BYTES = 32  # 256 bits


def new_token() -> str:
    """A fresh token: `shipyard_sa_` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The token's SHA-256, hex: what the database keeps and looks the token up by."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(text: str) -> bool:
    """Whether `text` has a token's shape (the prefix, then a plausible length of base64url)."""
    body = text[len(TOKEN_PREFIX) :]
    return (
        text.startswith(TOKEN_PREFIX)
        and 40 <= len(body) <= 200
        and all(char.isalnum() or char in "-_" for char in body)
    )
