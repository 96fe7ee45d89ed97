"""What a `metrics` integration's connector answers: an instant query, as samples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["MetricsSource", "Sample"]


@dataclass(frozen=True)
class Sample:
    """One value of a query's answer: a series' labels (`__name__` among them when it has a
    name; none for a scalar) and its value at `timestamp` (Unix seconds)."""

    value: float
    timestamp: float
    metric: Mapping[str, str] = field(default_factory=dict)

    @property
    def series(self) -> str:
        """The series as PromQL writes it: `name{label="value",…}`, `{}` with neither."""
        name = self.metric.get("__name__", "")
        labels = ",".join(
            f'{key}="{value}"' for key, value in sorted(self.metric.items()) if key != "__name__"
        )
        return f"{name}{{{labels}}}" if labels or not name else name


@runtime_checkable
class MetricsSource(Protocol):
    """A `metrics` connector: the samples `promql` gives at `at` (Unix seconds; now when
    None)."""

    async def query(self, promql: str, at: float | None = None) -> list[Sample]: ...
