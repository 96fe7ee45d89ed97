"""Every GitHub client test starts and ends with no App shared between clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.github import forget_shared_apps


@pytest.fixture(autouse=True)
def no_shared_apps() -> Iterator[None]:
    forget_shared_apps()
    yield
    forget_shared_apps()
