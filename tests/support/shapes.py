"""Odd-shaped payloads for a host's normaliser: each gives an Event or a PayloadShapeError."""

from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from providers.events import Event
from providers.normalise import PayloadShapeError, normalise

ODD_VALUES: list[Any] = [None, True, 0, -1, 2.5, "", "x", [], [{}], {}, {"id": {}}]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict | list):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            yield from _paths(child, (*path, key))


def _replaced(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def _random_json(rng: random.Random, keys: list[str], depth: int) -> Any:
    choice = rng.randrange(9 if depth else 6)
    scalars: list[Any] = [
        None,
        rng.choice([True, False]),
        rng.randint(-5, 10**12),
        1.5,
        "",
        rng.choice(keys),
    ]
    if choice < len(scalars):
        return scalars[choice]
    if choice < 8:
        return {
            rng.choice(keys): _random_json(rng, keys, depth - 1) for _ in range(rng.randrange(5))
        }
    return [_random_json(rng, keys, depth - 1) for _ in range(rng.randrange(3))]


@dataclass(frozen=True)
class OddShapes:
    """One host's samples (`sample_events`: sample name -> the event it is delivered with,
    read by `load`) and the event names to try them under, bent out of shape."""

    provider: str
    sample_events: Mapping[str, str]
    event_names: Sequence[str]
    load: Callable[[str], dict[str, Any]]

    def _outcome(self, event_name: str, payload: Any) -> str:
        """An Event or a PayloadShapeError; any other exception fails the test."""
        try:
            event = normalise(self.provider, event_name, payload, delivery_id="d-1")
            assert isinstance(event, Event)
        except PayloadShapeError:
            return "shape error"
        return "event"

    def check_odd_value_at_any_field(self) -> None:
        outcomes: Counter[str] = Counter()
        for name, event_name in self.sample_events.items():
            payload = self.load(name)
            for path in _paths(payload):
                for value in ODD_VALUES:
                    outcomes[self._outcome(event_name, _replaced(payload, path, value))] += 1
        assert outcomes["event"] > 0
        assert outcomes["shape error"] > 0

    def check_any_sample_under_any_event_name(self) -> None:
        outcomes = Counter(
            self._outcome(event_name, self.load(name))
            for name in self.sample_events
            for event_name in self.event_names
        )
        assert outcomes["event"] > 0

    def check_random_objects(self) -> None:
        rng = random.Random(1729)
        keys = sorted(
            {
                p[-1]
                for name in self.sample_events
                for p in _paths(self.load(name))
                if isinstance(p[-1], str)
            }
        )
        outcomes: Counter[str] = Counter()
        for _ in range(300):
            payload = {
                rng.choice(keys): _random_json(rng, keys, 3) for _ in range(rng.randrange(8))
            }
            for event_name in self.event_names:
                outcomes[self._outcome(event_name, payload)] += 1
        assert outcomes["event"] > 0
        assert outcomes["shape error"] > 0
