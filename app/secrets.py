"""Secret references: config names a credential (`env://NAME`), never holds its value."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "SecretError",
    "check_reference",
    "extend_mask",
    "is_reference",
    "redact",
    "resolve_secret",
]

ENV_PREFIX = "env://"
VAULT_PREFIX = "vault://"
ACCEPTED_FORMS = "env://NAME or vault://<integration>/<path>#<key>"

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]{0,19})://", re.IGNORECASE)


class SecretError(ValueError):
    """A secret reference is malformed or cannot be resolved. Messages never hold a value."""


def is_reference(value: str) -> bool:
    """Whether `value` is written as a secret reference (it may still fail to resolve)."""
    return value.startswith((ENV_PREFIX, VAULT_PREFIX))


def check_reference(ref: str) -> None:
    """Raise SecretError unless `ref` is a well-formed reference; reads nothing.

    For config validation: a literal secret pasted into config fails here, and the message
    does not repeat it.
    """
    if ref.startswith(ENV_PREFIX):
        _env_name(ref)
    elif not ref.startswith(VAULT_PREFIX):
        raise SecretError(_not_a_reference(ref))


def resolve_secret(ref: str, environ: Mapping[str, str] | None = None) -> str:
    """The value a reference points at.

    `env://NAME` reads the process environment (or `environ`, for tests); `vault://…`
    is recognised but refused until the Vault integration exists. Anything else, a
    literal secret included, is refused: credentials live outside the database.
    """
    if ref.startswith(ENV_PREFIX):
        return _read_env(_env_name(ref), os.environ if environ is None else environ)
    if ref.startswith(VAULT_PREFIX):
        raise SecretError(
            "vault:// references are resolved by the Vault integration, which Shipyard does "
            "not have yet (it arrives with integrations); use env://NAME for now"
        )
    raise SecretError(_not_a_reference(ref))


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each non-empty secret replaced by `***`."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def extend_mask(mask: Callable[[str], str], secrets: Iterable[str]) -> Callable[[str], str]:
    """A mask that hides `secrets` as well as what `mask` hides.

    When `mask` can learn secrets (it has `add(secret)`, like `steps.masking.Masker`), it is
    taught them, so every later log line and output the engine masks hides them too.
    """
    known = [s for s in secrets if s]
    add = getattr(mask, "add", None)
    if callable(add):
        for secret in known:
            add(secret)
    return lambda text: redact(mask(text), known)


def _env_name(ref: str) -> str:
    name = ref.removeprefix(ENV_PREFIX)
    if not _ENV_NAME.fullmatch(name):
        raise SecretError(
            f"env:// must be followed by an environment variable name "
            f"(letters, digits and _), as in env://SLACK_WEBHOOK_URL; got {ref[:60]!r}"
        )
    return name


def _read_env(name: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    if value is None:
        raise SecretError(
            f"environment variable {name} is not set (referenced as env://{name}); "
            "set it in the environment of the Shipyard web and worker processes"
        )
    if not value:
        raise SecretError(f"environment variable {name} is empty (referenced as env://{name})")
    return value


def _not_a_reference(ref: str) -> str:
    # The value is never repeated: it may be the secret itself, pasted into config.
    scheme = _SCHEME.match(ref)
    got = f"a {scheme.group(1)}:// value" if scheme else "a literal value"
    return (
        f"a secret must be a reference, {ACCEPTED_FORMS}, got {got}; "
        "secret values are never written into configuration"
    )
