"""Values people write in config, shared by step configs and `.shipyard.yml`: durations
(90, "90s", "30m", "1h30m", "1d") parsed to seconds, and environment variable names."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator

__all__ = ["ENV_NAME", "Duration", "is_env_name", "parse_duration"]

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""An environment variable name: letters, digits and `_`, not starting with a digit."""

# Units largest first, each at most once: "1d2h", "1h30m", "90s", "1.5h" (spaces allowed).
_DURATION = re.compile(
    r"(?:(?P<d>\d+(?:\.\d+)?)\s*d)?\s*"
    r"(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*s)?"
)
_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_HINT = "use seconds (90) or a number with units, like 90s, 30m, 1h or 1h30m"


def parse_duration(value: object) -> float:
    """Seconds, more than zero; a bare number (or numeric string) is seconds. ValueError else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"invalid duration {value!r}: {_HINT}")
    seconds = _parse_text(value) if isinstance(value, str) else float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"duration {value!r} must be a finite time above zero")
    return seconds


def _parse_text(text: str) -> float:
    stripped = text.strip()
    try:
        return float(stripped) if stripped.replace(".", "", 1).isdigit() else _parse_units(stripped)
    except ValueError:
        raise ValueError(f"invalid duration {text!r}: {_HINT}") from None


def _parse_units(text: str) -> float:
    found = _DURATION.fullmatch(text)
    if not text or found is None or not any(found.groupdict().values()):
        raise ValueError(text)
    return sum(
        float(amount) * _SECONDS[unit] for unit, amount in found.groupdict().items() if amount
    )


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A pydantic field type: seconds (float, > 0), written as 90, "90s", "30m" or "1h30m"."""


def is_env_name(name: str) -> bool:
    return ENV_NAME.fullmatch(name) is not None
