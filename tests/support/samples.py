"""The hand-written host payloads and API answers under tests/samples/, read by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def load_sample(folder: str, name: str) -> Any:
    """tests/samples/<folder>/<name>.json, parsed."""
    return json.loads((SAMPLES / folder / f"{name}.json").read_text())


def sample_names(folder: str) -> list[str]:
    """The names of the samples in tests/samples/<folder>/, sorted."""
    return sorted(path.stem for path in (SAMPLES / folder).glob("*.json"))
