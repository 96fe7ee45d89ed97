"""Fixtures for the deployments' tests: a real OpenSSH server to deploy to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sshd import Sshd, running_sshd


@pytest.fixture
def sshd() -> Iterator[Sshd]:
    """Debian's sshd with its default config, on a loopback port of its own (skipped without
    it, failed in CI)."""
    with running_sshd() as server:
        yield server
