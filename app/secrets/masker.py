"""The one masker: every known secret value becomes `***` in text and in JSON values (pure).

One rule everywhere, for log lines, step outputs, comments, stored errors and provider errors:
a secret is masked wherever it appears, longest first (so a secret holding another is masked
whole); a multi-line secret (a PEM key) is also masked line by line, because logs are stored a
line at a time; values shorter than four characters are ignored, or "on" and "yes" would mask
half of every log line. A step that prints a secret encoded gets no further: the base64
(padded, unpadded, URL-safe), hex and percent-encoded forms of each secret are masked too.

A process has one `Masker` holding every credential it holds; a step's masker is a `child()` of
it, which also hides what the step resolved, and sees what the parent learns later (a GitHub
installation token minted after the step started).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["MIN_SECRET_LENGTH", "REPLACEMENT", "Masker"]

MIN_SECRET_LENGTH = 4
REPLACEMENT = "***"


class Masker:
    """Masks the secrets it was given or taught (and, for a child, its parent's)."""

    def __init__(self, secrets: Iterable[str] = (), *, parent: Masker | None = None) -> None:
        self._own: set[str] = set()
        self._whole: set[str] = set()  # the secrets as taught, and their encodings
        self._parent = parent
        self._version = 0
        self._compiled: tuple[tuple[int, ...], re.Pattern[str] | None] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Mask `secret` (and each of its lines) from now on."""
        fresh = _forms(secret) - self._own
        if fresh:
            self._own |= fresh
            self._whole |= {secret, *_encodings(secret)} & fresh
            self._version += 1

    def forget(self, secret: str) -> None:
        """Stop masking `secret` (a replaced token): what this masker was taught of it goes."""
        known = _forms(secret) & self._own
        if known:
            self._own -= known
            self._whole -= known
            self._version += 1

    def reveals(self, text: str) -> bool:
        """Whether `text` holds, whole or encoded, a secret this masker (or an ancestor) was
        taught — not merely one line of one (a PEM key's `-----BEGIN` line is everyone's)."""
        return any(form in text for form in self._revealing())

    def child(self, secrets: Iterable[str] = ()) -> Masker:
        """A masker for one piece of work: these secrets, and everything this one masks."""
        return Masker(secrets, parent=self)

    def __len__(self) -> int:
        return len(self._secrets())

    def __bool__(self) -> bool:
        return True  # a masker that knows nothing yet is still the one to teach (`x or Masker()`)

    def __call__(self, text: str) -> str:
        pattern = self._pattern()
        return text if pattern is None else pattern.sub(REPLACEMENT, text)

    def mask_json(self, value: Any) -> Any:
        """`value` (JSON-like: dicts, lists, strings, numbers) with every string masked."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self.mask_json(k): self.mask_json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_json(item) for item in value]
        return value

    def _versions(self) -> tuple[int, ...]:
        """Changes whenever this masker or an ancestor learns a secret."""
        return (self._version, *(self._parent._versions() if self._parent is not None else ()))

    def _revealing(self) -> set[str]:
        return self._whole | (self._parent._revealing() if self._parent is not None else set())

    def _secrets(self) -> set[str]:
        return self._own | (self._parent._secrets() if self._parent is not None else set())

    def _pattern(self) -> re.Pattern[str] | None:
        versions = self._versions()
        if self._compiled is None or self._compiled[0] != versions:
            ordered = sorted(self._secrets(), key=lambda s: (-len(s), s))
            pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
            self._compiled = (versions, pattern)
        return self._compiled[1]


def _forms(secret: str) -> set[str]:
    """What is masked for `secret`: itself, its encodings and, for a multi-line one, each line;
    never a value shorter than MIN_SECRET_LENGTH."""
    if len(secret.strip()) < MIN_SECRET_LENGTH:
        return set()
    lines = secret.splitlines() if "\n" in secret else []
    return {c for c in (secret, *lines) if len(c.strip()) >= MIN_SECRET_LENGTH} | _encodings(secret)


def _encodings(secret: str) -> set[str]:
    """The forms a step is likely to print `secret` in to get it past a mask."""
    raw = secret.encode()
    padded, urlsafe = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    forms = {padded, padded.rstrip("="), urlsafe, urlsafe.rstrip("="), raw.hex(), raw.hex().upper()}
    return (forms | {quote(secret, safe="")}) - {secret}
