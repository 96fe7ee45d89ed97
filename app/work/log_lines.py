"""Log lines of a piece of durable work, masked as they are written and kept until its next
heartbeat stores them (a step's, a deployment task's)."""

from __future__ import annotations

from app.secrets.masker import Masker

__all__ = ["LogLines"]


class LogLines:
    """Masked log lines waiting for the next heartbeat to store them."""

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._lines: list[str] = []

    def write(self, line: str) -> None:
        self._lines.append(self._masker(line.rstrip("\n")) + "\n")

    def take(self) -> str:
        text, self._lines = "".join(self._lines), []
        return text
