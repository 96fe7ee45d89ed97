"""Every provider's config refuses what a person can type wrong with a validation error (so a
400 naming the key), never another exception (a 500)."""

from __future__ import annotations

import contextlib

import pytest
from pydantic import ValidationError

from app.integrations.catalogue import catalogue
from app.integrations.connector import ProviderConfig

BUILT = sorted(name for name, spec in catalogue().items() if spec.available)
WRONG = ["http://[::1", "http://exa mple.com", "ftp://x.example.com", "://", "\x00", "env://"]


@pytest.mark.parametrize("endpoint", WRONG)
def test_a_malformed_endpoint_is_a_validation_error(endpoint: str) -> None:
    with pytest.raises(ValidationError, match="endpoint must be an http:// or https:// URL"):
        ProviderConfig.model_validate({"endpoint": endpoint})


@pytest.mark.parametrize("provider", BUILT)
def test_no_field_of_any_provider_raises_anything_but_a_validation_error(provider: str) -> None:
    model = catalogue()[provider].config
    for field in model.model_fields:
        for value in [*WRONG, "x" * 5000, 5, [1], {"a": "http://[::1"}, None]:
            with contextlib.suppress(ValidationError):
                model.model_validate({"endpoint": "https://e.example.com", field: value})
