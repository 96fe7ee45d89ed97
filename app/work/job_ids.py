"""Queue job ids for durable work: unique per enqueue, since the claim decides who runs it."""

from __future__ import annotations

import secrets

__all__ = ["job_id"]


def job_id(kind: str, *ids: int | str) -> str:
    """`kind:<ids>:<nonce>`, new on every call. arq keeps a finished job's result (for an hour)
    under its id and silently drops an enqueue of an id it holds, so an id reused after a failed
    attempt would lose the work. Running twice is what the database claim prevents."""
    return ":".join([kind, *(str(pk) for pk in ids), secrets.token_hex(4)])
