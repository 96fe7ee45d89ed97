"""Log lines are key=value, carry the delivery id of the job or request they belong to, and
never a secret the process knows: not in the message, not in a traceback."""

from __future__ import annotations

import io
import logging

from app.logs import configure_logging, delivery_context, masking_logs
from app.secrets.masker import Masker


def test_lines_carry_the_delivery_id() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO")
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        logging.getLogger("shipyard.test").info("outside")
        token = delivery_context.set("d-42")
        logging.getLogger("shipyard.test").warning("inside")
        delivery_context.reset(token)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    first, second = stream.getvalue().splitlines()
    assert "level=INFO logger=shipyard.test delivery_id=- msg='outside'" in first
    assert "level=WARNING logger=shipyard.test delivery_id=d-42 msg='inside'" in second


def test_lines_and_tracebacks_are_masked_while_the_process_runs() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO")
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    log = logging.getLogger("shipyard.test")
    try:
        with masking_logs(Masker(["ghp_token0123"])):
            log.warning("calling with %s", "ghp_token0123")
            try:
                raise RuntimeError("the host echoed ghp_token0123")
            except RuntimeError:
                log.exception("failed")
        log.warning("after: ghp_token0123")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    written = stream.getvalue()
    during, after = written.split("after:")
    assert "ghp_token0123" not in during
    assert "calling with ***" in during
    assert "RuntimeError: the host echoed ***" in during
    assert "ghp_token0123" in after  # outside the process's lifetime, nothing is taught
