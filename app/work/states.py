"""State machines as tables of allowed moves (pure): what conditional UPDATEs are built from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

__all__ = ["Transitions"]

S = TypeVar("S", bound=StrEnum)


class Transitions(Generic[S]):
    """The moves a state machine allows: from each state, the states it may go to."""

    def __init__(self, moves: Mapping[S, Iterable[S]]) -> None:
        self._moves = {state: frozenset(targets) for state, targets in moves.items()}

    def sources(self, target: S) -> list[S]:
        """The states `target` may be reached from (for `UPDATE … WHERE state IN (…)`)."""
        return [state for state, targets in self._moves.items() if target in targets]
