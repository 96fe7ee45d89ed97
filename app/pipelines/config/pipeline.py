"""`PipelineConfig` (its steps' `needs` graph checked), and the `pipelines:` section."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from app.pipelines.config.references import reference_problems
from app.pipelines.config.steps import StepSpec, output_reference
from app.pipelines.config.triggers import Triggers
from app.repo_config.errors import custom_error, did_you_mean
from app.repo_config.fields import Env, FreeMapping, FrozenModel, Template, named, none_as_empty
from steps.templates import FROM_SUFFIX

PipelineName = Annotated[str, named("pipeline name")]


class Concurrency(FrozenModel):
    """One run per rendered group at a time; a new run cancels the running one by default."""

    group: Annotated[Template, Field(min_length=1)]
    cancel_in_progress: StrictBool = True

    @model_validator(mode="before")
    @classmethod
    def _group_shorthand(cls, data: Any) -> Any:
        return {"group": data} if isinstance(data, str) else data


def _resolve_needs(steps: list[StepSpec]) -> list[StepSpec]:
    """A step without `needs:` needs the step before it (the first one nothing)."""
    return [
        step
        if "needs" in step.model_fields_set or index == 0
        else step.model_copy(update={"needs": [steps[index - 1].name]})
        for index, step in enumerate(steps)
    ]


def _graph_errors(steps: list[StepSpec]) -> list[InitErrorDetails]:
    """Duplicate names, needs naming no step (or itself), the first cycle, and `X_from`
    references to steps that do not run before the step."""
    first: dict[str, int] = {}
    errors: list[InitErrorDetails] = []
    for index, step in enumerate(steps):
        if step.name in first:
            message = f"duplicate step name {step.name!r} (also steps[{first[step.name]}])"
            errors.append(
                {"type": custom_error(message), "loc": (index, "name"), "input": step.name}
            )
        first.setdefault(step.name, index)
    if errors:
        return errors
    for index, step in enumerate(steps):
        for position, need in enumerate(step.needs):
            if need == step.name:
                message = "a step cannot need itself"
            elif need not in first:
                message = f"no step named {need!r} in this pipeline{did_you_mean(need, first)}"
            else:
                continue
            errors.append(
                {"type": custom_error(message), "loc": (index, "needs", position), "input": need}
            )
    if errors:
        return errors
    cycle = _find_cycle({step.name: step.needs for step in steps})
    if cycle is not None:
        message = f"steps need each other in a cycle: {' -> '.join([*cycle, cycle[0]])}"
        return [{"type": custom_error(message), "loc": (first[cycle[0]], "needs"), "input": cycle}]
    return list(_output_errors(steps))


def _output_errors(steps: list[StepSpec]) -> Iterator[InitErrorDetails]:
    """`X_from: "<step>.<output>"` may only name a step this one needs, directly or not:
    any other step may not have run yet when this one starts."""
    needs = {step.name: step.needs for step in steps}
    before: dict[str, set[str]] = {}

    def ancestors(name: str) -> set[str]:
        if name not in before:
            before[name] = set(needs[name]).union(*(ancestors(n) for n in needs[name]))
        return before[name]

    for index, step in enumerate(steps):
        for key, value in step.config.items():
            reference = output_reference(value) if str(key).endswith(FROM_SUFFIX) else None
            if reference is None or reference[0] in ancestors(step.name):
                continue
            if reference[0] in needs:
                message = (
                    f"step {reference[0]!r} does not run before {step.name!r}: "
                    f"add {reference[0]!r} to the needs of {step.name!r}"
                )
            else:
                message = f"no step named {reference[0]!r}{did_you_mean(reference[0], needs)}"
            yield {"type": custom_error(message), "loc": (index, "config", key), "input": value}


def _find_cycle(needs: dict[str, list[str]]) -> list[str] | None:
    """One cycle in the `needs` graph, starting at its step that comes first in the file."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for need in needs[name]:
            if state.get(need) == 1:
                cycle = path[path.index(need) :]
                start = min(cycle, key=list(needs).index)
                return cycle[cycle.index(start) :] + cycle[: cycle.index(start)]
            if need not in state and (found := visit(need)) is not None:
                return found
        path.pop()
        state[name] = 2
        return None

    for name in needs:
        if name not in state and (found := visit(name)) is not None:
            return found
    return None


class PipelineConfig(FrozenModel):
    """One pipeline under `pipelines:`."""

    on: Triggers
    status_context: Annotated[str, Field(min_length=1)]  # RepoConfig fills shipyard/<name>
    concurrency: Concurrency | None = None
    env: Env = {}
    vars: FreeMapping = {}
    network: StrictBool = True  # false: the steps' sandbox has no network at all
    forks: StrictBool = False  # true: untrusted pull requests run it too, without secrets
    steps: list[StepSpec]

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> PipelineConfig:
        errors: list[InitErrorDetails] = [
            {"type": custom_error(message), "loc": loc, "input": None}
            for loc, message in reference_problems(self.env, self.steps, info.context)
        ]
        if errors:
            raise ValidationError.from_exception_data("pipeline", errors)
        return self

    @field_validator("steps")
    @classmethod
    def _valid_steps(cls, steps: list[StepSpec]) -> list[StepSpec]:
        if not steps:
            raise custom_error("at least one step is required")
        resolved = _resolve_needs(steps)
        errors = _graph_errors(resolved)
        if errors:
            raise ValidationError.from_exception_data("steps", errors)
        return resolved


def _default_status_contexts(value: object) -> object:
    """A pipeline's status context defaults to shipyard/<its name>."""
    if not isinstance(value, dict):
        return none_as_empty(value)
    return {
        name: {"status_context": f"shipyard/{name}", **raw} if isinstance(raw, dict) else raw
        for name, raw in value.items()
    }


Pipelines = Annotated[dict[PipelineName, PipelineConfig], BeforeValidator(_default_status_contexts)]
"""The value of the `pipelines:` section: pipelines by name."""
