"""Typed reads from a payload: a missing or null field is None, a wrong type PayloadShapeError.

Every read is bounded (providers.bounds): a string a name must match exactly that no column
could keep, a sha that is not one, or a number out of its column's range is a
PayloadShapeError naming the field and the limit; free text is cleaned and cut."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from providers.bounds import (
    ACTION_MAX,
    ID_MAX,
    ID_MIN,
    NAME_MAX,
    NUMBER_MAX,
    REF_MAX,
    URL_MAX,
    exact_problem,
    sha_problem,
    text,
)

_T = TypeVar("_T", str, int, bool)

# A content digest as the OCI image spec writes it: `algorithm:encoded` (sha256:<64 hex>…).
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
DIGEST_MAX = 200


def _digest_problem(value: str) -> str | None:
    if len(value) <= DIGEST_MAX and _DIGEST.fullmatch(value):
        return None
    return f"is not a content digest (algorithm:hex, e.g. sha256:…, at most {DIGEST_MAX})"


class PayloadShapeError(ValueError):
    """The payload is not shaped like the event it claims to be (a field has the wrong type)."""


class Obj:
    """One JSON object of a payload, with getters that name the event and field path on error."""

    __slots__ = ("_data", "_path", "_where")

    def __init__(self, data: Mapping[str, Any], where: str, path: str) -> None:
        self._data = data
        self._where = where  # e.g. "github 'push'"
        self._path = path  # e.g. "payload.repository"

    @classmethod
    def root(cls, payload: object, provider: str, event_name: str) -> Obj:
        where = f"{provider} {event_name!r}"
        if not isinstance(payload, Mapping):
            raise PayloadShapeError(
                f"{where} payload must be a JSON object, not {_json_type(payload)}"
            )
        return cls(payload, where, "payload")

    def has(self, key: str) -> bool:
        """Whether the key is there at all, even if its value is null."""
        return key in self._data

    def present(self, key: str) -> bool:
        """Whether the key is there with a non-null value."""
        return self._data.get(key) is not None

    def string(self, key: str, *, limit: int = NAME_MAX) -> str | None:
        """A value to match exactly (a login, a word, a name): refused, never cut or cleaned,
        when it is longer than `limit` or holds a control character."""
        return self._checked(key, lambda value: exact_problem(value, limit))

    def action(self, key: str = "action") -> str | None:
        """The host's word for what happened (opened, update...)."""
        return self.string(key, limit=ACTION_MAX)

    def ref(self, key: str) -> str | None:
        """A ref, branch or tag name."""
        return self.string(key, limit=REF_MAX)

    def url(self, key: str) -> str | None:
        return self.string(key, limit=URL_MAX)

    def sha(self, key: str) -> str | None:
        """A commit sha: 40 or 64 hex digits (or empty, some hosts' 'no commit')."""
        return self._checked(key, sha_problem)

    def digest(self, key: str) -> str | None:
        """An image's content digest, e.g. `sha256:<64 hex>` (empty: None)."""
        value = self._checked(key, lambda value: _digest_problem(value) if value else None)
        return value or None

    def text(self, key: str, *, limit: int) -> str | None:
        """Free text (a title, a comment): control characters but tab and line breaks removed,
        cut to `limit` characters with an ellipsis."""
        value = self._typed(key, str, "a string")
        return None if value is None else text(value, limit)

    def integer(self, key: str) -> int | None:
        """An id: a signed 64-bit integer (BIGINT)."""
        return self._ranged(key, ID_MIN, ID_MAX, "-2**63 to 2**63-1")

    def number(self, key: str) -> int | None:
        """A pull or merge request's number: 0 to 2**31-1 (an INTEGER column)."""
        return self._ranged(key, 0, NUMBER_MAX, f"0 to {NUMBER_MAX} (2**31-1)")

    def boolean(self, key: str) -> bool | None:
        return self._typed(key, bool, "true or false")

    def sub(self, key: str) -> Obj | None:
        """The nested object, or None when it is missing or null."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._error(key, "an object", value)
        return Obj(value, self._where, f"{self._path}.{key}")

    def obj(self, key: str) -> Obj:
        """The nested object, or an empty one when it is missing or null (so reads give None)."""
        return self.sub(key) or Obj({}, self._where, f"{self._path}.{key}")

    def _typed(self, key: str, kind: type[_T], expected: str) -> _T | None:
        value = self._data.get(key)
        if value is None or isinstance(value, kind):
            return value
        raise self._error(key, expected, value)

    def _checked(self, key: str, problem_of: Callable[[str], str | None]) -> str | None:
        value = self._typed(key, str, "a string")
        problem = None if value is None else problem_of(value)
        if problem is not None:
            raise self._bounds_error(key, problem)
        return value

    def _ranged(self, key: str, low: int, high: int, shown: str) -> int | None:
        value = self._data.get(key)
        if isinstance(value, bool):  # bool is an int to Python, never to JSON
            raise self._error(key, "an integer", value)
        number = self._typed(key, int, "an integer")
        if number is not None and not low <= number <= high:
            said = str(number) if abs(number) < 10**30 else "a number of more than 30 digits"
            raise self._bounds_error(key, f"is {said}, outside the range Shipyard keeps ({shown})")
        return number

    def _bounds_error(self, key: str, problem: str) -> PayloadShapeError:
        return PayloadShapeError(f"{self._where} payload: {self._path}.{key} {problem}")

    def _error(self, key: str, expected: str, value: object) -> PayloadShapeError:
        return PayloadShapeError(
            f"{self._where} payload: {self._path}.{key} should be {expected}, "
            f"not {_json_type(value)}"
        )


def _json_type(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)
