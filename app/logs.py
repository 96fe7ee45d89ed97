"""Structured log lines (key=value), with the delivery id on every line that has one."""

from __future__ import annotations

import logging
from contextvars import ContextVar

delivery_context: ContextVar[str | None] = ContextVar("delivery_id", default=None)


class _DeliveryFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "delivery_id"):
            record.delivery_id = delivery_context.get() or "-"
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_DeliveryFilter())
    handler.setFormatter(
        logging.Formatter(
            "time=%(asctime)s level=%(levelname)s logger=%(name)s "
            "delivery_id=%(delivery_id)s msg=%(message)r"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
