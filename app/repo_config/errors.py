"""Config problems: `ConfigProblem`, `ConfigError`, and the wording of their messages."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError

SUMMARY_LIMIT = 140  # a commit status description holds 140 characters


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the file: where (1-based line, dotted path) and what."""

    line: int | None
    path: str  # e.g. "pipelines.review.steps[1].type"; "" for the file as a whole
    message: str

    def format(self, filename: str) -> str:
        where = filename if self.line is None else f"{filename}:{self.line}"
        return ": ".join(part for part in (where, self.path, self.message) if part)


class ConfigError(ValueError):
    """The config is not valid; `problems` says every way, str() one problem per line."""

    def __init__(self, problems: list[ConfigProblem], *, filename: str = ".shipyard.yml") -> None:
        self.problems = sorted(
            dict.fromkeys(problems), key=lambda p: (p.line is None, p.line or 0, p.path)
        )
        self.filename = filename
        super().__init__(str(self))

    def __reduce__(self) -> tuple[Any, tuple[list[ConfigProblem]]]:
        return functools.partial(ConfigError, filename=self.filename), (self.problems,)

    def lines(self) -> list[str]:
        return [problem.format(self.filename) for problem in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    @property
    def summary(self) -> str:
        """The first problem (and how many more), at most 140 characters: a status description."""
        lines = self.lines() or [f"{self.filename}: invalid"]
        more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        first = lines[0].replace("\n", " ")
        if len(first) + len(more) > SUMMARY_LIMIT:
            first = first[: SUMMARY_LIMIT - len(more) - 1].rstrip() + "…"
        return first + more


def custom_error(message: str) -> PydanticCustomError:
    """A validation error whose message is shown as it is (no template formatting of braces)."""
    return PydanticCustomError("shipyard", "{message}", {"message": message})


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    known = list(choices)
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; expected one of: {', '.join(known)}" if known else ""


def show_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
