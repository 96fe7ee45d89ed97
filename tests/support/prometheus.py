"""Reading Shipyard's `/metrics` in tests: the exposition parsed with prometheus_client's own
parser into samples by name and labels, and sums of the samples a test names. Tests compare
numbers before and after what they do (the metrics are the process's, shared by every test).

A real Prometheus of a test's own is in `tests.support.prometheus_server` (`own_prometheus`)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Exposition", "parse", "scrape"]

Labels = frozenset[tuple[str, str]]


class Exposition:
    """One scrape: the families it declared (with their types) and every sample."""

    def __init__(self, types: Mapping[str, str], samples: Mapping[tuple[str, Labels], float]):
        self.types = dict(types)
        self.samples = dict(samples)

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named `name` whose labels include `labels` (0 for none)."""
        wanted = set(labels.items())
        return sum(v for (n, have), v in self.samples.items() if n == name and wanted <= have)

    def labels_of(self, name: str) -> list[dict[str, str]]:
        """The label sets of the samples named `name`."""
        return [dict(have) for (n, have) in self.samples if n == name]


def parse(text: str) -> Exposition:
    types: dict[str, str] = {}
    samples: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Exposition(types, samples)


async def scrape(client: httpx.AsyncClient, headers: Mapping[str, str] | None = None) -> Exposition:
    """GET /metrics (200, Prometheus' text format), parsed."""
    answer = await client.get("/metrics", headers=dict(headers or {}))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4"), answer.headers
    return parse(answer.text)
