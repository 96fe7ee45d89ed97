"""A job for a row this database lacks: another installation's, most likely. Logged as an
error that names the likely cause, and left alone (never marked anything)."""

from __future__ import annotations

import logging

__all__ = ["foreign_job"]

log = logging.getLogger(__name__)


def foreign_job(kind: str, pk: int | str) -> str:
    """Log that this database has no `kind` `pk`; the result the job body returns."""
    log.error(
        "this database has no %s %s: is another Shipyard installation using this Redis with "
        "the same SHIPYARD_QUEUE_NAME? The job is left alone.",
        kind,
        pk,
    )
    return f"foreign: no {kind} {pk} here"
