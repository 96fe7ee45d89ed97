"""SHIPYARD_LOG_FORMAT=json: one JSON object a line — time, level, logger, message — with the
context of the work at hand (the delivery id, the run and step, the deployment, the
integration), every known secret masked in the message and the traceback; end to end, the lines
of a delivery's processing carry its id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from app.logs import bind, configure_logging, delivery_context, log_context, masking_logs
from app.main import create_app
from app.secrets.masker import Masker
from app.settings import Settings
from jobqueue.inprocess import InProcessQueue
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.settings import SECRETS


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines into the stream yielded (restored afterwards)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO", "json")
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def written(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_the_context_bound_where_it_was_logged(
    lines: io.StringIO,
) -> None:
    log = logging.getLogger("shipyard.test")
    log.info("outside")
    token = delivery_context.set("d-42")
    try:
        with log_context(run=7, step="build"):
            log.warning("in a step: %s", "compiling")
        with log_context(deployment=3, task=9, integration="vault-1"):
            log.info("reading a secret")
    finally:
        delivery_context.reset(token)
    outside, step, deployment = written(lines)
    assert set(outside) == {"time", "level", "logger", "message"}
    assert (outside["level"], outside["logger"], outside["message"]) == (
        "INFO",
        "shipyard.test",
        "outside",
    )
    assert datetime.fromisoformat(outside["time"]).utcoffset() is not None  # UTC, said so
    assert step == {
        "time": step["time"],
        "level": "WARNING",
        "logger": "shipyard.test",
        "message": "in a step: compiling",
        "delivery_id": "d-42",
        "run": 7,
        "step": "build",
    }
    assert {k: deployment[k] for k in ("delivery_id", "deployment", "task", "integration")} == {
        "delivery_id": "d-42",
        "deployment": 3,
        "task": 9,
        "integration": "vault-1",
    }
    assert "run" not in deployment  # the block that bound it ended


def test_json_lines_and_their_tracebacks_are_masked(lines: io.StringIO) -> None:
    log = logging.getLogger("shipyard.test")
    with masking_logs(Masker(["ghp_token0123", 'pa"ss\\word'])):
        log.warning("calling with %s and %s", "ghp_token0123", 'pa"ss\\word')
        try:
            raise RuntimeError("the host echoed ghp_token0123")
        except RuntimeError:
            log.exception("failed")
    text = lines.getvalue()
    assert "ghp_token0123" not in text
    assert "ss\\\\word" not in text  # not even JSON-escaped
    assert 'pa\\"ss' not in text
    called, failed = written(lines)
    assert called["message"] == "calling with *** and ***"
    assert failed["message"] == "failed"
    assert "RuntimeError: the host echoed ***" in failed["exception"]


def test_bind_keeps_a_value_for_the_rest_of_the_task_and_none_forgets_it(
    lines: io.StringIO,
) -> None:
    log = logging.getLogger("shipyard.test")
    with log_context():  # whatever is bound inside is undone with it
        bind(deployment=12)
        log.info("one")
        bind(deployment=None)
        log.info("two")
    one, two = written(lines)
    assert one["deployment"] == 12
    assert "deployment" not in two


async def test_a_deliverys_processing_lines_carry_its_id_and_no_secret(
    lines: io.StringIO, settings: Settings
) -> None:
    body, headers = delivery("github", "push", PUSH, delivery_id="json-logs-delivery-1")
    app = create_app(settings)
    async with running(app) as client:
        answer = await client.post("/webhooks/github", content=body, headers=headers)
        assert answer.status_code == 202, answer.text
        queue = app.state.services.queue
        assert isinstance(queue, InProcessQueue)
        await queue.join()
        logging.getLogger("shipyard.test").warning("leaked %s", SECRETS["GITHUB_WEBHOOK_SECRET"])
    found = written(lines)
    processing = [line for line in found if line["message"].startswith("processing github")]
    assert processing, found
    assert {line["delivery_id"] for line in processing} == {"json-logs-delivery-1"}
    assert SECRETS["GITHUB_WEBHOOK_SECRET"] not in lines.getvalue()
    assert any(line["message"] == "leaked ***" for line in found)
