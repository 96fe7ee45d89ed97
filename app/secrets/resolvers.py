"""Resolving secret references: one source per scheme, and a resolver that masks what it reads.

`env://VAR` reads the environment Shipyard started with (`Settings.environ`), `file:///PATH` a
file, `vault://…` and `secret://…` say clearly that what they need is not built yet. A
`Resolver` serves one piece of work (a step): every value it returns is taught to that work's
mask first, so it never reaches a log line, an output or a comment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from providers.mask import Mask
from steps.secret_refs import (
    REPOSITORY_SCHEMES,
    SCHEMES,
    Scheme,
    SecretError,
    SecretRef,
    parse_reference,
)

__all__ = [
    "EnvSource",
    "FileSource",
    "NotYetSource",
    "Resolver",
    "SecretSource",
    "Secrets",
]


class SecretSource(Protocol):
    """Where the values of one scheme live."""

    async def read(self, ref: SecretRef) -> str: ...


@dataclass(frozen=True)
class EnvSource:
    environ: Mapping[str, str]

    async def read(self, ref: SecretRef) -> str:
        value = self.environ.get(ref.name)
        if value is None:
            raise SecretError(
                f"environment variable {ref.name} is not set (referenced as {ref}); "
                "set it in the environment of the Shipyard web and worker processes"
            )
        if not value:
            raise SecretError(f"environment variable {ref.name} is empty (referenced as {ref})")
        return value


class FileSource:
    """A file's contents, without a trailing newline (key files, mounted secrets)."""

    async def read(self, ref: SecretRef) -> str:
        try:
            text = await asyncio.to_thread(Path(ref.path).read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SecretError(f"{ref} cannot be read ({type(error).__name__})") from None
        if not text.strip():
            raise SecretError(f"{ref} is empty")
        return text.rstrip("\n")


@dataclass(frozen=True)
class NotYetSource:
    """A scheme whose resolver Shipyard does not have yet: every read says so."""

    message: str

    async def read(self, ref: SecretRef) -> str:
        raise SecretError(self.message)


VAULT_NOT_YET = NotYetSource(
    "vault:// references are resolved by the Vault integration, which Shipyard does not "
    "have yet (it arrives with integrations); use env://NAME for now"
)
SECRET_NOT_YET = NotYetSource(
    "secret://NAME names a secret the server defines and grants to repositories; this "
    "Shipyard has no secret definitions yet; use env://NAME for now"
)


@dataclass(frozen=True)
class Secrets:
    """The process's secret sources, by scheme: what resolvers read from."""

    sources: Mapping[Scheme, SecretSource]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Secrets:
        return cls(
            {
                "env": EnvSource(environ),
                "file": FileSource(),
                "vault": VAULT_NOT_YET,
                "secret": SECRET_NOT_YET,
            }
        )

    def for_repository(self, mask: Mask) -> Resolver:
        """A resolver for what a repository's config names (never `file://`)."""
        return Resolver(self, mask, REPOSITORY_SCHEMES)

    def for_server(self, mask: Mask) -> Resolver:
        """A resolver for the server's own definitions (targets, integrations)."""
        return Resolver(self, mask, SCHEMES)


@dataclass(frozen=True)
class Resolver:
    """Resolves references of the `allowed` schemes; teaches `mask` each value it returns."""

    secrets: Secrets
    mask: Mask
    allowed: tuple[Scheme, ...]

    async def resolve(self, reference: str) -> str:
        ref = parse_reference(reference, allowed=self.allowed)
        source = self.secrets.sources.get(ref.scheme)
        if source is None:
            raise SecretError(f"{ref.scheme}:// secrets have no source on this server")
        value = await source.read(ref)
        self.mask.add(value)
        return value
