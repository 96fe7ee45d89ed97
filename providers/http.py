"""What every httpx client of Shipyard shares: one TLS context per process, and the observer
its calls to hosts are reported to.

Building an `ssl.SSLContext` loads the CA bundle, about 17 ms of CPU; clients are made per
job, so they share this one instead of each building its own.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import certifi

__all__ = ["OBSERVER", "HostCallObserver", "observe_host_calls", "tls_context"]


@cache
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


# --- what the process counts of its calls to hosts ------------------------------------------

Answered = Callable[[str, int | None], None]
"""(host, status) of one attempt of a call to a host; status None when no answer came."""
Waited = Callable[[str, float], None]
"""(host, seconds) of a wait for the host's rate limit to reset."""


def _ignore(*_: object) -> None:
    return None


@dataclass
class HostCallObserver:
    """Told of every attempt on the wire (`providers.boundary`) and every rate-limit wait
    (`providers.retry`); the composition root points it at the process's metrics."""

    answered: Answered = _ignore
    waited: Waited = _ignore


OBSERVER = HostCallObserver()


def observe_host_calls(answered: Answered, waited: Waited) -> None:
    """Have this process's host calls reported to `answered` and `waited`."""
    OBSERVER.answered, OBSERVER.waited = answered, waited
