"""Typed reads from a payload: a missing or null field is None, a wrong type PayloadShapeError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

_T = TypeVar("_T", str, int, bool)


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

    def string(self, key: str) -> str | None:
        return self._typed(key, str, "a string")

    def integer(self, key: str) -> int | None:
        value = self._data.get(key)
        if isinstance(value, bool):  # bool is an int to Python, never to JSON
            raise self._error(key, "an integer", value)
        return self._typed(key, int, "an integer")

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
