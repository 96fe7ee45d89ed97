"""Replacing secret values with *** in log lines and step outputs (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MIN_SECRET_LENGTH", "REPLACEMENT", "Masker"]

MIN_SECRET_LENGTH = 4  # shorter values ("a", "on", "yes") would mask half of every log line
REPLACEMENT = "***"


class Masker:
    """Masks every known secret in text, longest first (so a secret containing another is
    masked whole). A multi-line secret (a PEM key) is also masked line by line, because logs
    are stored one line at a time. Values shorter than four characters are ignored."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Mask `secret` (and each of its lines) from now on."""
        candidates = [secret, *secret.splitlines()] if "\n" in secret else [secret]
        fresh = {c for c in candidates if len(c.strip()) >= MIN_SECRET_LENGTH} - self._secrets
        if fresh:
            self._secrets |= fresh
            self._pattern = None

    def __len__(self) -> int:
        return len(self._secrets)

    def __call__(self, text: str) -> str:
        pattern = self._compiled()
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

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._secrets:
            ordered = sorted(self._secrets, key=lambda s: (-len(s), s))
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        return self._pattern
