"""Log lines are key=value and carry the delivery id of the job or request they belong to."""

from __future__ import annotations

import io
import logging

from app.logs import configure_logging, delivery_context


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
