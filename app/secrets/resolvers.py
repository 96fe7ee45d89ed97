"""Resolving secret references: one source per scheme, and a resolver that masks what it reads.

A repository's config names `secret://NAME` only. The server resolves NAME through its
definition (`app.secrets.definitions`), if NAME is granted to that repository, from the
definition's server-side source: `env://VAR` (the environment Shipyard started with, never one
of its own settings), `file:///PATH` (never its own key or state), `vault://…` (a `secrets`
integration of the hub, bound once the hub exists). A value that turns out to be one of
Shipyard's own credentials is refused however it was reached. A `Resolver` serves one piece
of work (a step): every value it returns is taught to that work's mask first, so it never
reaches a log line, an output or a comment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app.secrets.definitions import Definition, is_forbidden
from app.secrets.masker import Masker
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
    "ReadSecret",
    "Refused",
    "Resolver",
    "SecretSource",
    "Secrets",
    "VaultSource",
]

SERVER_SCHEMES: tuple[Scheme, ...] = tuple(s for s in SCHEMES if s != "secret")


class SecretSource(Protocol):
    """Where the values of one scheme live."""

    async def read(self, ref: SecretRef) -> str: ...


@dataclass(frozen=True)
class EnvSource:
    environ: Mapping[str, str]
    forbidden: frozenset[str] = frozenset()  # Shipyard's own settings

    async def read(self, ref: SecretRef) -> str:
        if ref.name.upper() in self.forbidden:
            raise SecretError(f"{ref} is one of Shipyard's own settings, never a secret's source")
        value = self.environ.get(ref.name)
        if value is None:
            raise SecretError(
                f"environment variable {ref.name} is not set (referenced as {ref}); "
                "set it in the environment of the Shipyard web and worker processes"
            )
        if not value:
            raise SecretError(f"environment variable {ref.name} is empty (referenced as {ref})")
        return value


@dataclass(frozen=True)
class FileSource:
    """A file's contents, without a trailing newline (key files, mounted secrets)."""

    forbidden: frozenset[Path] = frozenset()  # Shipyard's own key file, .env, data directory

    async def read(self, ref: SecretRef) -> str:
        try:
            text = await asyncio.to_thread(self._read, Path(ref.path))
        except (OSError, UnicodeDecodeError) as error:
            raise SecretError(f"{ref} cannot be read ({type(error).__name__})") from None
        if text is None:
            raise SecretError(f"{ref} holds Shipyard's own credentials or state")
        if not text.strip():
            raise SecretError(f"{ref} is empty")
        return text.rstrip("\n")

    def _read(self, path: Path) -> str | None:
        """The file's text; None when it is (inside) one of Shipyard's own."""
        if is_forbidden(path, self.forbidden):
            return None
        return path.resolve().read_text(encoding="utf-8")


@dataclass(frozen=True)
class Refused:
    """A scheme (or a whole run) that gets no values: every read says why."""

    message: str

    async def read(self, ref: SecretRef) -> str:
        raise SecretError(self.message)


ReadSecret = Callable[[SecretRef], Awaitable[str]]
"""Reads a `vault://` reference's value; raises SecretError naming the reference, never a value."""


class VaultSource:
    """`vault://<integration>/<path>#<key>`, read through a `secrets` integration. The hub that
    reads it is built on these same secrets, so its reader is bound afterwards (`bind`); until
    then every read says there is none."""

    def __init__(self, read: ReadSecret | None = None) -> None:
        self._read = read

    def bind(self, read: ReadSecret) -> None:
        self._read = read

    async def read(self, ref: SecretRef) -> str:
        if self._read is None:
            raise SecretError(
                f"CREDENTIAL_FETCH_FAILED: {ref}: this process has no integration hub to "
                "read vault:// references through"
            )
        return await self._read(ref)


@dataclass(frozen=True)
class GrantedSource:
    """`secret://NAME` for one repository: its definition, if granted, read from the server."""

    definitions: Callable[[], Awaitable[Mapping[str, Definition]]]  # read when first needed
    provider: str
    repository: str
    secrets: Secrets

    async def read(self, ref: SecretRef) -> str:
        definition = (await self.definitions()).get(ref.name)
        if definition is None:
            raise SecretError(
                f"{ref} is not defined on this server (an operator defines it with "
                "`shipyard secrets define`)"
            )
        if not definition.grants(self.provider, self.repository):
            raise SecretError(f"{ref} is not granted to {self.provider}:{self.repository}")
        return await self.secrets.for_server(Masker()).resolve(definition.source)


@dataclass(frozen=True)
class Secrets:
    """The process's secret sources, by scheme, and the credentials no source may yield."""

    sources: Mapping[Scheme, SecretSource]
    own: Masker = field(default_factory=Masker)  # the process mask: Shipyard's credentials

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        *,
        own: Masker | None = None,
        forbidden_variables: frozenset[str] = frozenset(),
        forbidden_paths: frozenset[Path] = frozenset(),
        vault: SecretSource | None = None,
    ) -> Secrets:
        """The sources of this process; `vault` (a VaultSource the caller binds to the hub)
        serves vault://, which otherwise says there is no hub to read it through."""
        return cls(
            {
                "env": EnvSource(environ, forbidden_variables),
                "file": FileSource(forbidden_paths),
                "vault": vault if vault is not None else VaultSource(),
            },
            own if own is not None else Masker(),
        )

    def for_repository(
        self,
        mask: Mask,
        *,
        provider: str,
        repository: str,
        definitions: Callable[[], Awaitable[Mapping[str, Definition]]],
    ) -> Resolver:
        """A resolver for what a repository's config names: `secret://NAME`, if granted."""
        granted = GrantedSource(definitions, provider, repository, self)
        return Resolver(self, mask, REPOSITORY_SCHEMES, {"secret": granted})

    def for_untrusted(self, mask: Mask, why: str) -> Resolver:
        """A resolver for a run whose code is not trusted (a fork's): no secret at all."""
        return Resolver(self, mask, REPOSITORY_SCHEMES, {"secret": Refused(why)})

    def for_server(self, mask: Mask) -> Resolver:
        """A resolver for the server's own definitions (secrets, targets, integrations)."""
        return Resolver(self, mask, SERVER_SCHEMES, dict(self.sources))


@dataclass(frozen=True)
class Resolver:
    """Resolves references of the `allowed` schemes; teaches `mask` each value it returns."""

    secrets: Secrets
    mask: Mask
    allowed: tuple[Scheme, ...]
    sources: Mapping[Scheme, SecretSource]

    async def resolve(self, reference: str) -> str:
        ref = parse_reference(reference, allowed=self.allowed)
        source = self.sources.get(ref.scheme)
        if source is None:
            raise SecretError(f"{ref.scheme}:// secrets have no source here")
        value = await source.read(ref)
        if self.secrets.own.reveals(value):
            raise SecretError(f"{ref} holds one of Shipyard's own credentials: refused")
        self.mask.add(value)
        return value
