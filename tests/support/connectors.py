"""A provider's connector as the hub builds it, for the tests of one provider: its config read
by the provider's model, and references resolved from a table of known values (any other
reference fails the test)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from app.integrations.connector import ConnectorContext
from app.integrations.spec import ProviderSpec

__all__ = ["connect"]


def connect(
    spec: ProviderSpec,
    http: httpx.AsyncClient,
    config: Mapping[str, Any],
    *,
    name: str,
    credential_ref: str | None = None,
    values: Mapping[str, str] | None = None,
) -> object:
    """`spec`'s connector for integration `name`; `values` are what references resolve to."""
    known = dict(values or {})

    async def resolve(reference: str) -> str:
        assert reference in known, f"{reference} was not expected to be resolved"
        return known[reference]

    context = ConnectorContext(
        name=name,
        config=spec.config.model_validate(dict(config)),
        credential_ref=credential_ref,
        http=http,
        resolve=resolve,
    )
    assert spec.connect is not None
    return spec.connect(context)
