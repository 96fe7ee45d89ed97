"""The env-file format Shipyard writes: `KEY=value` lines quoted so that both Docker Compose
(`docker compose --env-file`, `env_file:`) and a POSIX shell (`set -a; . ./shipyard.env`) read
every value back exactly as written (pure).

The two readers share no escaping rule, so each value takes the one quoting both read the
same way:

* `KEY='value'` when the value holds no `'` and no `\\`. Both take single-quoted text
  literally: spaces, `"`, `$`, `#`, `` ` `` and newlines included (Compose reads a quoted
  value across lines, as the shell does).
* `KEY="value"` otherwise, with `\\` written `\\\\`, `"` written `\\"` and `$` written `\\$`.
  Both readers undo exactly these three escapes (Compose turns `\\$` into a literal `$`; its
  other escapes, `\\n` or `\\t`, cannot occur, since every backslash is doubled).
* A value holding a backquote as well as a `'` or a `\\` has no such form (a shell runs what
  is between backquotes in double quotes, and Compose keeps the backslash of `` \\` ``), and
  neither has one holding a NUL character: writing one is an error naming the key, never the
  value.
* `KEY=secret://NAME`, unquoted, is a secret reference: the file as generated and stored
  holds references only, and `fill` (`secrets.py`) replaces each with its value, quoted as
  above, as the file is written to a target. Every other value is quoted, so nothing else is
  ever taken for a reference.

Lines starting with `#` are comments. Compose v2 (compose-go's dotenv parser) is the Compose
meant; Compose v1 (the Python one, retired) and `docker run --env-file` (no quotes at all)
read other formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.deployments.artifacts.base import ArtifactError
from steps.secret_refs import REPOSITORY_SCHEMES, SecretError, parse_reference

__all__ = ["Entry", "Unquotable", "entries", "line", "quote", "reference_line"]

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_DOUBLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$"}


class Unquotable(ValueError):
    """A value no quoting reads back the same in both Compose and a shell; the message says
    why without repeating the value."""


def quote(value: str) -> str:
    """`value` quoted as this module's docstring says, or Unquotable."""
    if "\0" in value:
        raise Unquotable("it holds a NUL character, which no environment variable can hold")
    if "'" not in value and "\\" not in value:
        return f"'{value}'"
    if "`" in value:
        raise Unquotable(
            "it holds a backquote (`) as well as a quote (') or a backslash, which no "
            "env-file quoting reads back the same in both docker compose and a shell"
        )
    return '"' + "".join(_DOUBLE_ESCAPES.get(char, char) for char in value) + '"'


def line(key: str, value: str) -> str:
    """`KEY=<quoted value>`, or ArtifactError naming the key when the value cannot be quoted."""
    try:
        return f"{key}={quote(value)}"
    except Unquotable as error:
        raise ArtifactError(f"env-file: the value of {key} cannot be written: {error}") from None


def reference_line(key: str, reference: str) -> str:
    """`KEY=secret://NAME`, or ArtifactError when `reference` is not one (the message never
    repeats the value: it may be a secret pasted into config)."""
    try:
        parse_reference(reference, allowed=REPOSITORY_SCHEMES)
    except SecretError as error:
        raise ArtifactError(f"env-file: {key}: {error}") from None
    return f"{key}={reference}"


@dataclass(frozen=True)
class Entry:
    """One `KEY=value` of a file: its value as read back (a reference as written), and where
    the written value starts and ends in the text."""

    key: str
    value: str
    reference: bool
    start: int
    end: int


def _malformed(text: str, at: int, what: str) -> ArtifactError:
    number = text.count("\n", 0, at) + 1
    return ArtifactError(f"env-file: line {number}: {what} (not a file Shipyard wrote)")


def _single(text: str, start: int) -> tuple[str, int]:
    end = text.find("'", start + 1)
    if end < 0:
        raise _malformed(text, start, "a quoted value is not closed")
    return text[start + 1 : end], end + 1


def _double(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    at = start + 1
    while at < len(text) and text[at] != '"':
        if text[at] == "\\":
            at += 1
            if at >= len(text) or text[at] not in _DOUBLE_ESCAPES:
                raise _malformed(text, at, 'a backslash escapes only \\, " and $ here')
        chars.append(text[at])
        at += 1
    if at >= len(text):
        raise _malformed(text, start, "a quoted value is not closed")
    return "".join(chars), at + 1


def _reference(text: str, start: int) -> tuple[str, int]:
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    written = text[start:end]
    try:
        parse_reference(written, allowed=REPOSITORY_SCHEMES)
    except SecretError:
        raise _malformed(text, start, "an unquoted value is not a secret:// reference") from None
    return written, end


def _entry(text: str, at: int) -> Entry:
    key = _KEY.match(text, at)
    if key is None:
        raise _malformed(text, at, "expected KEY=value")
    start = key.end()
    opening = text[start : start + 1]
    read = {"'": _single, '"': _double}.get(opening, _reference)
    value, end = read(text, start)
    if end < len(text) and text[end] != "\n":
        raise _malformed(text, end, "text after a value")
    return Entry(key.group(1), value, read is _reference, start, end)


def entries(text: str) -> list[Entry]:
    """The assignments of an env-file this module wrote, in order; ArtifactError for anything
    it would not have written."""
    found: list[Entry] = []
    at = 0
    while at < len(text):
        if text[at] == "\n":
            at += 1
        elif text[at] == "#":
            end = text.find("\n", at)
            at = len(text) if end < 0 else end + 1
        else:
            entry = _entry(text, at)
            found.append(entry)
            at = entry.end
    return found
