"""The mocked GitLab API every client test talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:  # fails the test if a registered answer is unused
        yield mock
