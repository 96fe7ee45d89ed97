"""Structured log lines — key=value text, or one JSON object a line (SHIPYARD_LOG_FORMAT=json) —
with the context of the work they belong to (the delivery id on every line that has one; the
run, step, deployment, task or integration where one is being handled), and every known secret
masked before a line (or its traceback) is written."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "JsonFormatter",
    "bind",
    "clear_log_context",
    "configure_logging",
    "delivery_context",
    "log_context",
    "masking_logs",
]

LogFormat = Literal["text", "json"]
Value = str | int | None

delivery_context: ContextVar[str | None] = ContextVar("delivery_id", default=None)

# What a JSON line says of the work at hand, by key: each known only while it is handled.
_CONTEXT: dict[str, ContextVar[Value]] = {
    "delivery_id": delivery_context,  # type: ignore[dict-item]  # only ever a str or None
    "run": ContextVar("run", default=None),
    "step": ContextVar("step", default=None),
    "deployment": ContextVar("deployment", default=None),
    "task": ContextVar("task", default=None),
    "integration": ContextVar("integration", default=None),
}


def bind(**values: Value) -> None:
    """Lines logged from here on in this task (a request, a queue job) carry `values`:
    delivery_id, run, step, deployment, task, integration (None forgets one)."""
    for key, value in values.items():
        _CONTEXT[key].set(value)


def clear_log_context() -> None:
    """Forget every value bound (a queue job starts with none of its enqueuer's)."""
    for var in _CONTEXT.values():
        if var.get() is not None:
            var.set(None)


@contextlib.contextmanager
def log_context(**values: Value) -> Iterator[None]:
    """`values` on the lines logged inside the block only."""
    tokens: list[tuple[ContextVar[Value], Token[Value]]] = [
        (_CONTEXT[key], _CONTEXT[key].set(value)) for key, value in values.items()
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def context_now() -> dict[str, str | int]:
    """The values bound now, by key."""
    return {key: value for key, var in _CONTEXT.items() if (value := var.get()) is not None}


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


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the context bound
    when the line was logged, and the traceback (`exception`) if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(context_now())
        given = getattr(record, "delivery_id", None)
        if given and given != "-":  # set by the caller (`extra=`), or the filter from context
            line["delivery_id"] = given
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_DeliveryFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
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
