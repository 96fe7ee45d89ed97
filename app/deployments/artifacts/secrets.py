"""The secret references a generated file holds, and filling them in as it is written (pure).

Only an env-file's values may be secrets: `KEY=secret://NAME`, unquoted (see `dotenv`). The
file as generated, stored, hashed and shown holds the reference. `fill` gives the bytes a
target receives, each reference replaced by its resolved value, quoted as every value is:
call it only as the file is written, and never log or store what it returns. Other kinds hold
no references (a `secret://` that a repository's template writes is text, and stays text).
"""

from __future__ import annotations

from collections.abc import Mapping

from app.deployments.artifacts.base import Artifact, ArtifactError
from app.deployments.artifacts.dotenv import Unquotable, entries, quote
from app.deployments.artifacts.env_file import KIND as ENV_FILE

__all__ = ["fill", "references", "secret_references"]


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(
            "env-file: the file is not UTF-8 text (not a file Shipyard wrote)"
        ) from None


def references(content: bytes) -> list[str]:
    """The references an env-file's content holds, each once, in the order of the file."""
    found = [entry.value for entry in entries(_text(content)) if entry.reference]
    return list(dict.fromkeys(found))


def secret_references(artifact: Artifact) -> list[str]:
    """The `secret://NAME` references `artifact` holds, each once (none unless an env-file)."""
    return references(artifact.content) if artifact.name == ENV_FILE else []


def fill(content: bytes, values: Mapping[str, str]) -> bytes:
    """An env-file's `content` with each reference replaced by `values[reference]`, quoted.

    ArtifactError when a reference has no value in `values`, or its value cannot be written
    (the message names the reference and the key, never the value).
    """
    text = _text(content)
    pieces: list[str] = []
    at = 0
    for entry in entries(text):
        if not entry.reference:
            continue
        value = values.get(entry.value)
        if value is None:
            raise ArtifactError(
                f"env-file: {entry.key}: {entry.value} has no resolved value to fill in"
            )
        try:
            written = quote(value)
        except Unquotable as error:
            raise ArtifactError(
                f"env-file: {entry.key}: the value of {entry.value} cannot be written: {error}"
            ) from None
        pieces += [text[at : entry.start], written]
        at = entry.end
    pieces.append(text[at:])
    return "".join(pieces).encode("utf-8")
