"""Secret references as config writes them (pure): parse and check them, never resolve them.

Config names a credential, never holds it. The forms:

- `secret://NAME`: a secret the server defines and grants to repositories; the only form a
  repository's config may write.
- `env://VAR`: an environment variable of Shipyard's processes (server-side definitions only).
- `file:///PATH`: a file's contents, such as a key file (server-side definitions only).
- `vault://<integration>/<path>#<key>`: a key of a Vault / OpenBao KV v2 secret (server-side).

Resolving is the resolvers' work (`app.secrets`); this module only says what a string names.
Error messages never repeat the value: it may be the secret itself, pasted into config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from steps.config_types import ENV_NAME

__all__ = [
    "ACCEPTED_FORMS",
    "REPOSITORY_SCHEMES",
    "SCHEMES",
    "SERVER_FORMS",
    "SecretError",
    "SecretRef",
    "check_reference",
    "is_reference",
    "parse_reference",
]

Scheme = Literal["secret", "env", "file", "vault"]
SCHEMES: tuple[Scheme, ...] = ("secret", "env", "file", "vault")
# What a repository's config may write: a name the server defines and grants, never where a
# value lives (env://GITHUB_TOKEN, file:///etc/… would let a repository read the server's own).
REPOSITORY_SCHEMES: tuple[Scheme, ...] = ("secret",)
ACCEPTED_FORMS = "secret://NAME"
SERVER_FORMS = "env://VAR, file:///absolute/path or vault://<integration>/<path>#<key>"

_SECRET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_INTEGRATION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]{0,19})://", re.IGNORECASE)


class SecretError(ValueError):
    """A secret reference is malformed or cannot be resolved. Messages never hold a value."""


@dataclass(frozen=True)
class SecretRef:
    """What a reference names. `name` is the secret's or variable's name, `path` the file's
    or Vault secret's path, `integration` and `key` Vault's."""

    scheme: Scheme
    name: str = ""
    path: str = ""
    integration: str = ""
    key: str = ""

    def __str__(self) -> str:
        if self.scheme == "file":
            return f"file://{self.path}"
        if self.scheme == "vault":
            return f"vault://{self.integration}/{self.path}#{self.key}"
        return f"{self.scheme}://{self.name}"


def is_reference(value: str) -> bool:
    """Whether `value` is written as a secret reference (it may still be malformed)."""
    return value.startswith(tuple(f"{scheme}://" for scheme in SCHEMES))


def check_reference(value: str) -> None:
    """Raise SecretError unless `value` is a reference a repository's config may write (for
    step configs' validators); reads nothing."""
    parse_reference(value, allowed=REPOSITORY_SCHEMES)


def parse_reference(value: str, *, allowed: tuple[Scheme, ...] = SCHEMES) -> SecretRef:
    """The reference `value` is, or SecretError saying what is wrong with it."""
    scheme, separator, rest = value.partition("://")
    if separator and scheme in SCHEMES and scheme not in allowed:
        if allowed == REPOSITORY_SCHEMES:
            raise SecretError(
                f"{scheme}:// references are for the server's own secret definitions; a "
                "repository's config names a secret as secret://NAME, which the server "
                "defines and grants (`shipyard secrets define`)"
            )
        raise SecretError(f"{scheme}:// is not accepted here; use {SERVER_FORMS}")
    if not separator or scheme not in allowed:
        raise SecretError(_not_a_reference(value, allowed))
    if scheme == "env":
        if not ENV_NAME.fullmatch(rest):
            raise SecretError(
                "env:// must be followed by an environment variable name (letters, digits "
                f"and _), as in env://SLACK_WEBHOOK_URL; got {value[:60]!r}"
            )
        return SecretRef("env", name=rest)
    if scheme == "secret":
        if not _SECRET_NAME.fullmatch(rest):
            raise SecretError(
                "secret:// must be followed by the name of a secret the server defines "
                "(letters, digits, '.', '-' and '_'), as in secret://SLACK_WEBHOOK; "
                f"got {value[:60]!r}"
            )
        return SecretRef("secret", name=rest)
    if scheme == "file":
        if not rest.startswith("/") or "\0" in rest:
            raise SecretError("file:// must be followed by an absolute path, as in file:///etc/key")
        return SecretRef("file", path=rest)
    integration, slash, location = rest.partition("/")
    path, hash_sign, key = location.partition("#")
    named = _INTEGRATION.fullmatch(integration) and slash and path.strip("/")
    if not (named and hash_sign and key):
        raise SecretError(
            "vault:// must name an integration, a path and a key, as in "
            "vault://prod-vault/shipyard/slack#webhook_url"
        )
    return SecretRef("vault", path=path.strip("/"), integration=integration, key=key)


def _not_a_reference(value: str, allowed: tuple[Scheme, ...]) -> str:
    scheme = _SCHEME.match(value)
    got = f"a {scheme.group(1)}:// value" if scheme else "a literal value"
    forms = ACCEPTED_FORMS if allowed == REPOSITORY_SCHEMES else SERVER_FORMS
    return (
        f"a secret must be a reference, {forms}, got {got}; "
        "secret values are never written into configuration"
    )
