"""What every httpx client of Shipyard shares: one TLS context per process.

Building an `ssl.SSLContext` loads the CA bundle, about 17 ms of CPU; clients are made per
job, so they share this one instead of each building its own.
"""

from __future__ import annotations

import ssl
from functools import cache

import certifi


@cache
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())
