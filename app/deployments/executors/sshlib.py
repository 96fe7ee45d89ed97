"""asyncssh, imported without the warnings cryptography prints about the DSA keys asyncssh
still names (it never uses them here): every command would otherwise begin with five lines of
them."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh
    from asyncssh.public_key import get_default_public_key_algs

__all__ = ["asyncssh", "get_default_public_key_algs"]
