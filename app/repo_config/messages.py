"""Pydantic validation errors as the messages a config problem shows.

A model may say which model one of its fields is checked against when its annotation does not
(a step's `config:` is its step type's Config): a classmethod `model_of_field(field, data,
context)` returning that model, or None when it cannot tell. "Did you mean" suggestions use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from app.repo_config.errors import did_you_mean, show_value

_EXPECTED = {
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation is (through Annotated and `| None`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin is Annotated:
        return _model_of(get_args(annotation)[0])
    if origin in (Union, type(int | None)):
        models = [m for m in map(_model_of, get_args(annotation)) if m is not None]
        return models[0] if models else None
    return None


def _item_of(annotation: Any) -> Any:
    """What a list, tuple or dict annotation holds (through Annotated and `| None`)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _item_of(args[0])
    if origin in (Union, type(int | None)):
        return next((i for i in map(_item_of, args) if i is not None), None)
    if origin in (list, tuple):
        return args[0] if args else None
    return args[1] if origin is dict and len(args) == 2 else None


def _keys_at(
    annotation: Any, loc: tuple[str | int, ...], data: Any, context: Mapping[str, Any]
) -> list[str]:
    """The keys the model at `loc` (under `annotation`) accepts."""
    for elem in loc:
        model = _model_of(annotation)
        model_of_field = getattr(model, "model_of_field", None)
        if model_of_field is not None and (chosen := model_of_field(elem, data, context)):
            annotation = chosen
        elif model is not None:
            fields = {field.alias or name: field for name, field in model.model_fields.items()}
            annotation = fields[elem].annotation if elem in fields else None
        else:
            annotation = _item_of(annotation)
        if isinstance(data, dict | list):
            try:
                data = data[elem]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                data = None
        if annotation is None:
            return []
    model = _model_of(annotation)
    return [] if model is None else [f.alias or n for n, f in model.model_fields.items()]


def problem_message(
    error: ErrorDetails, annotation: Any, data: Any, context: Mapping[str, Any]
) -> str:
    """The message for `error`, raised validating `data` as `annotation` (with `context`)."""
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "shipyard":
        return error["msg"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        keys = _keys_at(annotation, loc[:-1], data, context)
        return f"unknown key {key!r}{did_you_mean(key, keys)}"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]} (got {show_value(error['input'])})"
    if kind == "too_short" and error.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"
    message = error["msg"].removeprefix("Value error, ").removeprefix("Input ")
    message = message[:1].lower() + message[1:]
    scalar = not isinstance(error["input"], dict | list) and kind != "value_error"
    return f"{message} (got {show_value(error['input'])})" if scalar else message


def reported_errors(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Without "must not be empty" for a list whose only items were just reported as wrong."""
    locs = [tuple(error["loc"]) for error in errors]
    return [
        error
        for error, loc in zip(errors, locs, strict=True)
        if error["type"] != "too_short" or not any(o[: len(loc)] == loc != o for o in locs)
    ]
