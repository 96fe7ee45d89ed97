"""Structured log lines (key=value), with the delivery id on every line that has one, and every
known secret masked before a line (or its traceback) is written."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["configure_logging", "delivery_context", "masking_logs"]

delivery_context: ContextVar[str | None] = ContextVar("delivery_id", default=None)


class _DeliveryFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "delivery_id"):
            record.delivery_id = delivery_context.get() or "-"
        return True


class _MaskingFilter(logging.Filter):
    """The line and its traceback through the mask, once, before any handler formats them."""

    def __init__(self, mask: Callable[[str], str]) -> None:
        super().__init__()
        self._mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "masked", False):
            return True
        try:
            record.msg, record.args = self._mask(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                traceback = logging.Formatter().formatException(record.exc_info)
                record.exc_text = self._mask(traceback)
        except Exception:  # a malformed log call: let logging report it as it would
            return True
        record.masked = True
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


@contextlib.contextmanager
def masking_logs(mask: Callable[[str], str]) -> Iterator[None]:
    """While open, every handler of the root logger writes lines through `mask`."""
    masking = _MaskingFilter(mask)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(masking)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(masking)
