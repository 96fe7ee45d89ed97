"""Payload values built to break a column, and whether a normalised Event fits the columns that
keep it (providers.bounds, which a test holds equal to the models)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

from providers.bounds import (
    ACTION_MAX,
    BODY_MAX,
    ID_MAX,
    ID_MIN,
    NAME_MAX,
    NUMBER_MAX,
    REF_MAX,
    REPOSITORY_MAX,
    SHA_LENGTHS,
    TITLE_MAX,
    URL_MAX,
)
from providers.events import Event

# What the fuzz that found the faults put into payloads.
BREAKING_STRINGS: tuple[str, ...] = ("r" * 400, "a\x00b", "a\ud800b", "t" * 100_000)
BREAKING_INTEGERS: tuple[int, ...] = (2**31, 2**63, -(2**63) - 1)

_REFS = {"ref", "branch", "tag", "head_ref", "base_ref", "default_branch"}
_SHAS = {"sha", "before", "head_sha"}
_TEXT = {"pull_request.title": TITLE_MAX, "release.name": TITLE_MAX, "comment.body": BODY_MAX}
_URLS = {"url", "web_url", "clone_url"}
_NAMES = {"full_name": REPOSITORY_MAX, "action": ACTION_MAX}
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SHA = re.compile("[0-9a-fA-F]+")


def changed(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `payload` with `changes` made, by path: `pull_request__head__ref` (keyword
    names hold no dots) sets payload["pull_request"]["head"]["ref"], making what is missing."""
    result = copy.deepcopy(payload)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = result
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value
    return result


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of a JSON value whose value is a string or a number."""
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            yield from leaves(child, (*path, key))
    elif isinstance(value, str | int) and not isinstance(value, bool):
        yield path, value


def misfits(event: Event) -> list[str]:
    """What of the event no column could keep, as 'field: why'; [] when all of it fits."""
    try:
        data = json.loads(event.model_dump_json())
    except ValueError as error:  # pydantic's serialisation error, on a lone surrogate
        return [f"not storable as JSON: {error}"]
    return [
        f"{'.'.join(map(str, path))}: {why}"
        for path, value in leaves(data)
        if (why := _misfit(".".join(map(str, path)), path[-1], value)) is not None
    ]


def _misfit(dotted: str, field: Any, value: str | int) -> str | None:
    if isinstance(value, int):
        if dotted == "pull_request.number" and not 0 <= value <= NUMBER_MAX:
            return f"{value} is no INTEGER pull request number"
        return None if ID_MIN <= value <= ID_MAX else f"{value} does not fit a BIGINT"
    text_limit = _TEXT.get(dotted)
    if (_CONTROL if text_limit is None else _CONTROL_IN_TEXT).search(value):
        return "holds a control character"
    if field in _SHAS:
        fits = value == "" or (len(value) in SHA_LENGTHS and _SHA.fullmatch(value))
        return None if fits else f"{value[:20]!r}... is no sha"
    limit = text_limit or _NAMES.get(field) or _limit(field)
    return None if len(value) <= limit else f"{len(value)} characters, over {limit}"


def _limit(field: Any) -> int:
    if field in _REFS:
        return REF_MAX
    return URL_MAX if field in _URLS else NAME_MAX
