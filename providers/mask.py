"""What lower floors know of the masker: hide known secrets in text, and learn new ones.

The one implementation is `app.secrets.masker.Masker`; the composition root hands it to every
client and step, and clients teach it each credential they hold or mint (an installation token).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Mask"]


class Mask(Protocol):
    def __call__(self, text: str) -> str:
        """`text` with every known secret replaced by `***`."""
        ...

    def add(self, secret: str) -> None:
        """Hide `secret` from now on."""
        ...

    def forget(self, secret: str) -> None:
        """Stop hiding a minted credential that has been replaced (so a long-running process's
        mask does not grow with every token it ever minted)."""
        ...
