"""The `.shipyard.yml` schema: parse a repo's config into models, with a line for every problem.

Pure: text in, `RepoConfig` or `ConfigError` out. How it fits together:

- YAML is composed once (a SafeLoader with YAML 1.2 booleans, so `on:` stays the string "on"
  and `yes` stays "yes") and constructed from the same node tree; the nodes give every problem
  its line. Duplicate keys, which PyYAML would silently collapse, are problems too.
- The pydantic models below do all the checking, including the cross-field checks (step types,
  step configs, `needs`, cycles), so every problem of every pipeline comes back in one pass
  (the cross-step checks of a pipeline run once its steps are valid one by one). A pydantic
  error `loc` is walked down the YAML nodes to find its line and the path the user wrote;
  shorthands (`pull_request: [opened]` for `{actions: [opened]}`) are passed over on the way.
- A step's `config:` is checked against its step type's `Config` model, but kept as the raw
  mapping: the engine renders its templates, then validates it for real. Rather than building
  placeholder values per annotation, the errors pydantic reports *at* a template string are
  dropped: its value is known only once rendered, and a one-expression template keeps its
  type (steps/templates.py), so it may become an int, a bool or even a list. This holds for
  every annotation (constrained, enum, literal, custom). Unknown and missing keys still count.
  A top-level `X_from: "<step>.<output>"` stands for `X` (templates.resolve_from); it must name
  a step that runs before this one.
- Template syntax (config strings, `if:`, `env:` values, the concurrency group) is checked with
  Jinja's parser; nothing is rendered.
- Top-level keys starting with `x-` are ignored, as in Compose: a place for YAML anchors.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Self, Union, get_args, get_origin

import jinja2
import jinja2.sandbox
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from app.pipelines.durations import Duration
from steps import registry as step_registry
from steps.base import StepType

__all__ = [
    "PIPELINE_STATUSES",
    "PULL_REQUEST_ACTIONS",
    "RELEASE_ACTIONS",
    "CommentTrigger",
    "Concurrency",
    "ConfigError",
    "ConfigProblem",
    "PipelineConfig",
    "PipelineTrigger",
    "PullRequestTrigger",
    "PushTrigger",
    "ReleaseTrigger",
    "RepoConfig",
    "StepSpec",
    "TagTrigger",
    "Triggers",
    "check_config_file",
    "is_template",
    "parse_config",
    "template_problem",
]

PULL_REQUEST_ACTIONS = ("opened", "synchronize", "reopened", "closed", "merged")
RELEASE_ACTIONS = (
    "published",
    "created",
    "released",
    "prereleased",
    "edited",
    "unpublished",
    "deleted",
)
PIPELINE_STATUSES = ("success", "failed", "cancelled")

SUMMARY_LIMIT = 140  # a commit status description holds 140 characters

# --- problems --------------------------------------------------------------------------------


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


def _error(message: str) -> PydanticCustomError:
    """A validation error whose message is shown as it is (no template formatting of braces)."""
    return PydanticCustomError("shipyard", "{message}", {"message": message})


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    known = list(choices)
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; expected one of: {', '.join(known)}" if known else ""


# --- field types -----------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_FROM = "_from"  # `X_from: <step>.<output>` in a step's config (steps/templates.resolve_from)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JINJA = jinja2.sandbox.SandboxedEnvironment(autoescape=True)  # only ever parses


def is_template(value: object) -> bool:
    """Whether a config value is a template, rendered (and re-validated) at run time."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def template_problem(text: str) -> str | None:
    """Why `text` is not a valid template, or None (also for text that is no template)."""
    if not (is_template(text) or "{#" in text):
        return None
    try:
        _JINJA.parse(text)
    except jinja2.TemplateSyntaxError as error:
        where = f" (template line {error.lineno})" if "\n" in text.strip() else ""
        return f"template syntax error: {(error.message or '').rstrip('.')}{where}"
    return None


def _named(what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not _NAME.fullmatch(value):
            raise _error(f"{what} {value!r} may only use letters, digits, '-' and '_'")
        return value

    return AfterValidator(check)


def _one_of(what: str, allowed: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise _error(f"unknown {what} {value!r}{_did_you_mean(value, allowed)}")
        return value

    return AfterValidator(check)


def _valid_template(value: str) -> str:
    problem = template_problem(value)
    if problem is not None:
        raise _error(problem)
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise _error(f"environment variable name {value!r} may only use letters, digits and '_'")
    return value


def _env_value(value: object) -> object:
    """Scalars become the strings a process sees: true/false, 8080."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def _none_as_empty(value: object) -> object:
    """`env:` with nothing under it is an empty mapping, not an error."""
    return {} if value is None else value


Template = Annotated[str, AfterValidator(_valid_template)]
PipelineName = Annotated[str, _named("pipeline name")]
StepName = Annotated[str, _named("step name")]
Glob = Annotated[str, Field(min_length=1)]
Globs = Annotated[tuple[Glob, ...], Field(min_length=1)]
Env = Annotated[
    dict[
        Annotated[str, AfterValidator(_env_name)],
        Annotated[str, BeforeValidator(_env_value), AfterValidator(_valid_template)],
    ],
    BeforeValidator(_none_as_empty),
]
FreeMapping = Annotated[dict[str, Any], BeforeValidator(_none_as_empty)]
PullRequestAction = Annotated[str, _one_of("pull_request action", PULL_REQUEST_ACTIONS)]
ReleaseAction = Annotated[str, _one_of("release action", RELEASE_ACTIONS)]
PipelineStatus = Annotated[str, _one_of("pipeline status", PIPELINE_STATUSES)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- triggers --------------------------------------------------------------------------------


class PullRequestTrigger(_Model):
    actions: Annotated[tuple[PullRequestAction, ...], Field(min_length=1)] = (
        "opened",
        "synchronize",
        "reopened",
    )
    branches: Globs | None = None  # the pull request's base branch; None: any


class PushTrigger(_Model):
    branches: Globs | None = None  # None: every branch


class TagTrigger(_Model):
    tags: Globs | None = None  # None: every tag


class CommentTrigger(_Model):
    """Comments on pull requests whose first line starts with one of the commands."""

    commands: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]


class ReleaseTrigger(_Model):
    actions: Annotated[tuple[ReleaseAction, ...], Field(min_length=1)] = ("published",)


class PipelineTrigger(_Model):
    """The host's CI finished (GitHub workflow run, GitLab pipeline)."""

    status: Annotated[tuple[PipelineStatus, ...], Field(min_length=1)] = PIPELINE_STATUSES
    branches: Globs | None = None


# Each trigger's list shorthand: `push: [main]` is `push: {branches: [main]}`.
_SHORTHAND = {
    "pull_request": "actions",
    "push": "branches",
    "tag": "tags",
    "comment": "commands",
    "release": "actions",
    "pipeline": "status",
}


class Triggers(_Model):
    """`on:`. A trigger that is absent (or false) is None; `manual` is CLI / API only."""

    pull_request: PullRequestTrigger | None = None
    push: PushTrigger | None = None
    tag: TagTrigger | None = None
    comment: CommentTrigger | None = None
    release: ReleaseTrigger | None = None
    pipeline: PipelineTrigger | None = None
    manual: StrictBool = False

    @model_validator(mode="before")
    @classmethod
    def _expand_shorthand(cls, data: Any) -> Any:
        """`on: push`, `on: [push, tag]`, `push:` / `push: true` (defaults), `push: false`
        (absent), `tag: "v*"` and `push: [main]` (the trigger's list) become the full form."""
        if data is None:
            return {}
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list) and all(isinstance(name, str) for name in data):
            data = dict.fromkeys(data, True)
        if not isinstance(data, dict):
            return data
        expanded: dict[Any, Any] = {}
        for key, value in data.items():
            list_key = _SHORTHAND.get(key)
            if list_key is None:
                expanded[key] = True if key == "manual" and value is None else value
            elif value is not False:
                if value is None or value is True:
                    value = {}
                elif isinstance(value, str | list):
                    value = {list_key: [value] if isinstance(value, str) else value}
                expanded[key] = value
        return expanded

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if self.manual or any(getattr(self, name) is not None for name in _SHORTHAND):
            return self
        raise _error(f"at least one trigger is required: {', '.join([*_SHORTHAND, 'manual'])}")


# --- steps and pipelines ---------------------------------------------------------------------


class Concurrency(_Model):
    """One run per rendered group at a time; a new run cancels the running one by default."""

    group: Annotated[Template, Field(min_length=1)]
    cancel_in_progress: StrictBool = True

    @model_validator(mode="before")
    @classmethod
    def _group_shorthand(cls, data: Any) -> Any:
        return {"group": data} if isinstance(data, str) else data


def _step_types(info: ValidationInfo) -> Mapping[str, StepType]:
    context = info.context
    given = context.get("step_types") if isinstance(context, dict) else None
    return step_registry.STEP_TYPES if given is None else given


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
                yield {"type": _error(problem), "loc": where, "input": item}
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
        if not (isinstance(key, str) and key.endswith(_FROM) and key != _FROM):
            prepared[key] = value
            continue
        target = key.removesuffix(_FROM)
        if target in config:
            message = f"give either {target!r} or {key!r}, not both"
            errors.append({"type": _error(message), "loc": (key,), "input": value})
        elif _output_reference(value) is None:
            message = f'expected "<step>.<output>", like "tests.status" (got {_show(value)})'
            errors.append({"type": _error(message), "loc": (key,), "input": value})
        prepared[target] = f"{{{{ {key} }}}}"
        renamed[target] = key
    return prepared, renamed


def _output_reference(value: object) -> tuple[str, str] | None:
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


class StepSpec(_Model):
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

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str, info: ValidationInfo) -> str:
        known = _step_types(info)
        if value in known:
            return value
        hint = _did_you_mean(value, sorted(known)) if known else " (no step types are registered)"
        raise _error(f"unknown step type {value!r}{hint}")

    @field_validator("config")
    @classmethod
    def _valid_config(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        errors = list(_template_errors(value))
        prepared, renamed = _without_from_keys(value, errors)
        step_type = _step_types(info).get(info.data.get("type", ""))
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
                raise _error(problem)
        return value


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
            errors.append({"type": _error(message), "loc": (index, "name"), "input": step.name})
        first.setdefault(step.name, index)
    if errors:
        return errors
    for index, step in enumerate(steps):
        for position, need in enumerate(step.needs):
            if need == step.name:
                message = "a step cannot need itself"
            elif need not in first:
                message = f"no step named {need!r} in this pipeline{_did_you_mean(need, first)}"
            else:
                continue
            errors.append(
                {"type": _error(message), "loc": (index, "needs", position), "input": need}
            )
    if errors:
        return errors
    cycle = _find_cycle({step.name: step.needs for step in steps})
    if cycle is not None:
        message = f"steps need each other in a cycle: {' -> '.join([*cycle, cycle[0]])}"
        return [{"type": _error(message), "loc": (first[cycle[0]], "needs"), "input": cycle}]
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
            reference = _output_reference(value) if str(key).endswith(_FROM) else None
            if reference is None or reference[0] in ancestors(step.name):
                continue
            if reference[0] in needs:
                message = (
                    f"step {reference[0]!r} does not run before {step.name!r}: "
                    f"add {reference[0]!r} to the needs of {step.name!r}"
                )
            else:
                message = f"no step named {reference[0]!r}{_did_you_mean(reference[0], needs)}"
            yield {"type": _error(message), "loc": (index, "config", key), "input": value}


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


class PipelineConfig(_Model):
    """One pipeline under `pipelines:`."""

    on: Triggers
    status_context: Annotated[str, Field(min_length=1)]  # RepoConfig fills shipyard/<name>
    concurrency: Concurrency | None = None
    env: Env = {}
    vars: FreeMapping = {}
    steps: list[StepSpec]

    @field_validator("steps")
    @classmethod
    def _valid_steps(cls, steps: list[StepSpec]) -> list[StepSpec]:
        if not steps:
            raise _error("at least one step is required")
        resolved = _resolve_needs(steps)
        errors = _graph_errors(resolved)
        if errors:
            raise ValidationError.from_exception_data("steps", errors)
        return resolved


def _default_status_contexts(value: object) -> object:
    """A pipeline's status context defaults to shipyard/<its name>."""
    if not isinstance(value, dict):
        return _none_as_empty(value)
    return {
        name: {"status_context": f"shipyard/{name}", **raw} if isinstance(raw, dict) else raw
        for name, raw in value.items()
    }


class RepoConfig(_Model):
    """The whole file. `releases`, `environments` and `chatops` belong to other features (free
    mappings here). Top-level keys starting with `x-` are ignored (a place for YAML anchors)."""

    pipelines: Annotated[
        dict[PipelineName, PipelineConfig], BeforeValidator(_default_status_contexts)
    ] = {}
    releases: FreeMapping = {}
    environments: FreeMapping = {}
    chatops: FreeMapping = {}

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}


# --- YAML: load, and find lines --------------------------------------------------------------

_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (true/false only). YAML 1.1 also reads on/off/yes/no
    as booleans, which would make the `on:` key True (the GitHub Actions surprise)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _load(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree and its data, or ConfigError with the YAML error's line."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        return root, None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = None if mark is None else mark.line + 1
        context = ""
        if error.context and error.context_mark is not None and error.context_mark is not mark:
            context = f" ({error.context} at line {error.context_mark.line + 1})"
        problem = error.problem or error.context or "unreadable"
        raise ConfigError([ConfigProblem(line, "", f"invalid YAML: {problem}{context}")]) from None
    except yaml.YAMLError as error:
        raise ConfigError([ConfigProblem(None, "", f"invalid YAML: {error}")]) from None
    except RecursionError:
        raise ConfigError([ConfigProblem(None, "", "invalid YAML: nested too deeply")]) from None
    finally:
        loader.dispose()


def _format_path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _lookup(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The key and value nodes for `key`, also through `<<: *merged` mappings."""
    merged: list[yaml.Node] = []
    for key_node, value_node in reversed(node.value):  # the last duplicate is the one loaded
        if key_node.tag == _MERGE:
            merged.extend(
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
        elif isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    for source in merged:
        found = _lookup(source, key) if isinstance(source, yaml.MappingNode) else None
        if found is not None:
            return found
    return None


def _locate(root: yaml.Node | None, loc: tuple[str | int, ...]) -> tuple[int | None, str]:
    """The line and the path in the file for a pydantic error location.

    The line is the key's (or the list item's) the location ends at. A key the file lacks (a
    required one) stays in the path, at its mapping's line. A model key standing for a list
    shorthand (`actions` of `pull_request: [...]`) is passed over."""
    node, parts = root, []
    line = None if root is None else root.start_mark.line + 1
    for index, elem in enumerate(loc):
        if elem == "[key]":  # a dict key was invalid: the line is already the key's
            break
        if isinstance(node, yaml.MappingNode) and (found := _lookup(node, str(elem))):
            key_node, node = found
            line = key_node.start_mark.line + 1
            parts.append(elem)
            continue
        if isinstance(node, yaml.SequenceNode):
            items = node.value
            if isinstance(elem, int) and 0 <= elem < len(items):
                node = items[elem]
                line, parts = node.start_mark.line + 1, [*parts, elem]
                continue
            if isinstance(elem, str):
                named = [i for i, item in enumerate(items) if getattr(item, "value", None) == elem]
                if named:  # `on: [push, tag]` stands for {push: true, tag: true}
                    node = items[named[0]]
                    line, parts = node.start_mark.line + 1, [*parts, named[0]]
                continue
        parts.extend(part for part in loc[index:] if part != "[key]")
        break
    return line, _format_path(parts)


def _duplicate_keys(root: yaml.Node | None) -> list[ConfigProblem]:
    """YAML says keys are unique; PyYAML silently keeps the last. Every repeat is a problem."""
    problems: list[ConfigProblem] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, list[str | int]]] = [] if root is None else [(root, [])]
    while stack:
        node, parts = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, [*parts, index]) for index, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                line = key_node.start_mark.line + 1
                if key_node.tag != _MERGE and key in lines:
                    message = f"duplicate key {key!r} (also at line {lines[key]}; only one is used)"
                    problems.append(ConfigProblem(line, _format_path([*parts, key]), message))
                lines.setdefault(key, line)
                stack.append((value_node, [*parts, key]))
    return problems


# --- pydantic errors to problems -------------------------------------------------------------

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


def _show(value: object) -> str:
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
    loc: tuple[str | int, ...], data: Any, step_types: Mapping[str, StepType]
) -> list[str]:
    """The keys the model at `loc` accepts (a step's `config:` is its step type's Config)."""
    annotation: Any = RepoConfig
    for elem in loc:
        model = _model_of(annotation)
        if model is StepSpec and elem == "config":
            type_name = data.get("type") if isinstance(data, dict) else None
            step_type = step_types.get(type_name) if isinstance(type_name, str) else None
            annotation = None if step_type is None else step_type.Config
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


def _message(error: ErrorDetails, data: Any, step_types: Mapping[str, StepType]) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "shipyard":
        return error["msg"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return f"unknown key {key!r}{_did_you_mean(key, _keys_at(loc[:-1], data, step_types))}"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]} (got {_show(error['input'])})"
    if kind == "too_short" and error.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"
    message = error["msg"].removeprefix("Value error, ").removeprefix("Input ")
    message = message[:1].lower() + message[1:]
    scalar = not isinstance(error["input"], dict | list) and kind != "value_error"
    return f"{message} (got {_show(error['input'])})" if scalar else message


def _reported(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Without "must not be empty" for a list whose only items were just reported as wrong."""
    locs = [tuple(error["loc"]) for error in errors]
    return [
        error
        for error, loc in zip(errors, locs, strict=True)
        if error["type"] != "too_short" or not any(o[: len(loc)] == loc != o for o in locs)
    ]


# --- entry points ----------------------------------------------------------------------------


def parse_config(
    text: str,
    *,
    filename: str = ".shipyard.yml",
    step_types: Mapping[str, StepType] | None = None,
) -> RepoConfig:
    """The repo config in `text`, or ConfigError listing every problem with its line.

    `step_types` defaults to the registry (`steps.registry.STEP_TYPES`, read at call time).
    An empty file, or one without `pipelines:`, is valid and has no pipelines."""
    types = step_registry.STEP_TYPES if step_types is None else step_types
    try:
        root, data = _load(text)
    except ConfigError as unreadable:
        raise ConfigError(unreadable.problems, filename=filename) from None
    problems = _duplicate_keys(root)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = None if root is None else root.start_mark.line + 1
        message = f"the file must be a mapping of keys such as `pipelines:`, not {_show(data)}"
        raise ConfigError([*problems, ConfigProblem(line, "", message)], filename=filename)
    try:
        config = RepoConfig.model_validate(data, context={"step_types": types})
    except ValidationError as invalid:
        for error in _reported(invalid.errors(include_url=False)):
            line, path = _locate(root, tuple(error["loc"]))
            problems.append(ConfigProblem(line, path, _message(error, data, types)))
        raise ConfigError(problems, filename=filename) from None
    if problems:
        raise ConfigError(problems, filename=filename)
    return config


def check_config_file(path: Path, *, step_types: Mapping[str, StepType] | None = None) -> list[str]:
    """Every problem of the config file at `path`, formatted one per line; [] when valid."""
    filename = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{filename}: no such file (Shipyard reads .shipyard.yml at the repository root)"]
    except UnicodeDecodeError as error:
        return [f"{filename}: not UTF-8 text (byte {error.start})"]
    except OSError as error:
        return [f"{filename}: cannot read it: {error.strerror or error}"]
    try:
        parse_config(text, filename=filename, step_types=step_types)
    except ConfigError as error:
        return error.lines()
    return []
