"""`StepSpec`: one step, with its `config:` checked against its step type's Config model."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, TypeAlias

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from app.repo_config.errors import custom_error, did_you_mean, show_value
from app.repo_config.fields import Env, FreeMapping, FrozenModel, named, template_problem
from steps import registry as step_registry
from steps.base import StepConfig, StepType
from steps.config_types import Duration
from steps.templates import FROM_SUFFIX, is_template, verbatim_problem

StepName = Annotated[str, named("step name")]
# A step type's Config model (StepSpec's own `type` field shadows the builtin in its body).
ConfigModel: TypeAlias = type[StepConfig]


def step_types_in(context: object) -> Mapping[str, StepType]:
    """The step types a validation context names (tests pass their own), else the registry."""
    given = context.get("step_types") if isinstance(context, Mapping) else None
    return step_registry.STEP_TYPES if given is None else given


def _step_types(info: ValidationInfo) -> Mapping[str, StepType]:
    return step_types_in(info.context)


def _deferred(error: ErrorDetails) -> bool:
    """An error at a template value is decided after rendering, not now: a one-expression
    template keeps its value's type (steps/templates.py), so it may become an int or a list.
    Only a wrong key stands (unknown, or required and missing)."""
    return is_template(error["input"]) and error["type"] not in ("missing", "extra_forbidden")


def _template_errors(value: object, loc: tuple[str | int, ...] = ()) -> Iterator[InitErrorDetails]:
    """Template syntax errors anywhere in a step's config (each container visited once)."""
    seen: set[int] = set()
    stack: list[tuple[object, tuple[str | int, ...]]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            problem = template_problem(item)
            if problem is not None:
                yield {"type": custom_error(problem), "loc": where, "input": item}
        elif isinstance(item, dict | list) and id(item) not in seen:
            seen.add(id(item))
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((child, (*where, key)) for key, child in pairs)


def _without_from_keys(
    config: dict[str, Any], errors: list[InitErrorDetails]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The config as its Config model sees it: each top-level `X_from: "<step>.<output>"`
    becomes `X` (its value, a step's output, is known at run time: a template stands in).
    Returns that copy and {X: "X_from"}; malformed references are added to `errors`."""
    prepared: dict[str, Any] = {}
    renamed: dict[str, str] = {}
    for key, value in config.items():
        if not (isinstance(key, str) and key.endswith(FROM_SUFFIX) and key != FROM_SUFFIX):
            prepared[key] = value
            continue
        target = key.removesuffix(FROM_SUFFIX)
        if target in config:
            message = f"give either {target!r} or {key!r}, not both"
            errors.append({"type": custom_error(message), "loc": (key,), "input": value})
        elif output_reference(value) is None:
            message = f'expected "<step>.<output>", like "tests.status" (got {show_value(value)})'
            errors.append({"type": custom_error(message), "loc": (key,), "input": value})
        prepared[target] = f"{{{{ {key} }}}}"
        renamed[target] = key
    return prepared, renamed


def output_reference(value: object) -> tuple[str, str] | None:
    """("tests", "status") for "tests.status"; None if it is not such a reference."""
    step, dot, output = value.partition(".") if isinstance(value, str) else ("", "", "")
    return (step, output) if step and dot and output else None


def _reraise(error: ErrorDetails, renamed: Mapping[str, str]) -> InitErrorDetails:
    """A Config model's error, as one of the `config` field's (under the key in the file)."""
    loc = tuple(error["loc"])
    if loc and isinstance(loc[0], str) and loc[0] in renamed:
        loc = (renamed[loc[0]], *loc[1:])
    kind = PydanticCustomError(error["type"], "{message}", {"message": error["msg"]})
    return {"type": kind, "loc": loc, "input": error["input"]}


class StepSpec(FrozenModel):
    """One step. `needs` is always explicit here: absent in the file means the previous step."""

    name: StepName
    type: str
    # Raw (templates unrendered), checked against the type's Config even when absent.
    config: FreeMapping = Field(default={}, validate_default=True)
    needs: list[StepName] = []
    if_: str | None = Field(default=None, alias="if")
    timeout_seconds: Duration | None = Field(default=None, alias="timeout")
    retries: Annotated[StrictInt, Field(ge=0, le=10)] = 0
    continue_on_error: StrictBool = False
    env: Env = {}

    @classmethod
    def model_of_field(
        cls, field: str | int, data: Any, context: Mapping[str, Any]
    ) -> ConfigModel | None:
        """`config:` is checked against the step type's Config (messages.py asks, for "did you
        mean"); None when the type is unknown."""
        type_name = data.get("type") if isinstance(data, dict) else None
        if field != "config" or not isinstance(type_name, str):
            return None
        step_type = step_types_in(context).get(type_name)
        return None if step_type is None else step_type.Config

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str, info: ValidationInfo) -> str:
        known = _step_types(info)
        if value in known:
            return value
        hint = did_you_mean(value, sorted(known)) if known else " (no step types are registered)"
        raise custom_error(f"unknown step type {value!r}{hint}")

    @field_validator("config")
    @classmethod
    def _valid_config(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        errors = list(_template_errors(value))
        step_type = _step_types(info).get(info.data.get("type", ""))
        problem = verbatim_problem(value, step_type.Config.verbatim) if step_type else None
        if problem is not None:
            errors.append({"type": custom_error(problem), "loc": (), "input": value})
        prepared, renamed = _without_from_keys(value, errors)
        if step_type is not None:
            try:
                step_type.Config.model_validate(prepared)
            except ValidationError as invalid:
                errors += [_reraise(e, renamed) for e in invalid.errors() if not _deferred(e)]
        if errors:
            raise ValidationError.from_exception_data("config", errors)
        return value

    @field_validator("if_", mode="before")
    @classmethod
    def _condition(cls, value: object) -> object:
        """`if: false` is the text "false"; a bare expression is fine (evaluate_condition)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            problem = template_problem(value if is_template(value) else f"{{{{ {value} }}}}")
            if problem is not None:
                raise custom_error(problem)
        return value
