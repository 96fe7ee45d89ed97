"""A job for a row this database lacks is logged as an error that names the likely cause."""

from __future__ import annotations

import logging

import pytest

from app.work.foreign import foreign_job


def test_a_foreign_job_is_an_error_naming_the_shared_queue_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="app.work.foreign"):
        result = foreign_job("delivery", 42)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("this database has no delivery 42: is another")
    assert "same SHIPYARD_QUEUE_NAME?" in record.getMessage()
    assert result == "foreign: no delivery 42 here"
    assert not result.startswith("skipped")
