"""Sections whose features have not landed yet: `chatops`.

They are accepted as free mappings, so a file written ahead of them (ARCHITECTURE's example)
stays valid and nothing in them is lost; a feature that lands replaces its entry here with its
own section and model. Nothing acts on them yet.
"""

from __future__ import annotations

from typing import Any

from app.repo_config.fields import FreeMapping
from app.repo_config.schema import Section

__all__ = ["RESERVED"]


def _free(key: str) -> Section[dict[str, Any]]:
    return Section(key, FreeMapping, {})


RESERVED: tuple[Section[dict[str, Any]], ...] = (_free("chatops"),)
