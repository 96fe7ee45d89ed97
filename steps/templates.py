"""Rendering `{{ ... }}` in step configs and `if:` conditions, in Jinja2's sandbox (pure).

Decisions a template author will notice:

* Undefined values are `ChainableUndefined`: `{{ pull_request.number }}` on a push event, or
  `{{ steps.nope.outputs.x }}`, renders "" (and is None as a whole value) instead of raising.
  Calling an undefined value (`{{ nope() }}`) is still an error.
* The environment is `ImmutableSandboxedEnvironment`: a template cannot reach Python internals
  (`''.__class__`, `__globals__`, `format` tricks) nor mutate the context (`.append`, `.update`).
  Any such attempt is a `TemplateError`, never an empty string that hides it.
* A string that is exactly one expression, `"{{ x }}"`, keeps the value's type (int, bool, list,
  dict, None): `number: "{{ pull_request.number }}"` gives an int. Anything else renders to text.
* In text, None and undefined render as "", booleans as `true` / `false`, lists and dicts as
  JSON: never a Python repr.
* Values are rendered once: text that comes from people (a PR title holding `{{ }}`) is data in
  the output and is never rendered again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, Undefined, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "FROM_SUFFIX",
    "Sandbox",
    "TemplateError",
    "build_context",
    "evaluate_condition",
    "is_template",
    "render_config",
    "render_value",
    "resolve_from",
    "verbatim_problem",
]

FROM_SUFFIX = "_from"  # `X_from: <step>.<output>` in a step's config stands for `X`
_SINGLE_EXPRESSION = re.compile(r"\A\{\{(?P<expr>.*)\}\}\Z", re.DOTALL)
_FALSE_WORDS = frozenset({"", "false", "0"})
_MAX_BITS = 100_000
_MAX_REPEAT = 1_000_000


class TemplateError(ValueError):
    """A template that cannot be rendered; the message says which one and why."""


def is_template(value: object) -> bool:
    """Whether a config value is a template string (rendered, then validated, at run time)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with unsafe attribute access failing loudly rather than rendering "", and
    `*` / `**` kept from building values that would take the worker's memory or time."""

    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(
            f"access to attribute {attribute!r} of a {type(obj).__name__} value is not allowed"
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        problem = _too_big(operator, left, right)
        if problem:
            raise SecurityError(problem)
        return super().call_binop(context, operator, left, right)


def _too_big(operator: str, left: Any, right: Any) -> str | None:
    """Why `left <operator> right` would build a value too big to hold, if it would."""
    if operator == "**" and isinstance(left, int) and isinstance(right, int):
        too_big = max(left.bit_length(), 1) * abs(right) > _MAX_BITS
        return f"{left} ** {right} is too large a number" if too_big else None
    sized, count = (left, right) if isinstance(left, str | list | tuple) else (right, left)
    if operator == "*" and isinstance(sized, str | list | tuple) and isinstance(count, int):
        too_long = len(sized) * count > _MAX_REPEAT
        return f"repeating a value {count} times makes it too long" if too_long else None
    return None


def _plain(value: Any) -> Any:
    """A template's result as a plain value: generators (`| map(...)`) become lists; a function
    or method is an error, so no Python object reaches a config or a page."""
    if value is None or isinstance(value, str | bool | int | float | Mapping):
        return value
    if isinstance(value, Undefined):
        return None
    if isinstance(value, list | tuple):
        return list(value)
    if callable(value):
        raise TemplateError("the expression is a function, not a value (call it with `()`)")
    if isinstance(value, Iterable):
        return list(value)
    return str(value)


def _finalize(value: Any) -> Any:
    """How a value prints inside text: never a Python repr."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value


_ENV = Sandbox(
    autoescape=False,
    undefined=ChainableUndefined,
    finalize=_finalize,
    keep_trailing_newline=True,
)


@lru_cache(maxsize=1024)
def _template(source: str) -> Template:
    return _ENV.from_string(source)


@lru_cache(maxsize=1024)
def _expression(source: str) -> Callable[..., Any]:
    return _ENV.compile_expression(source, undefined_to_none=True)


def _shorten(source: str, limit: int = 80) -> str:
    return source if len(source) <= limit else source[: limit - 1] + "…"


def _fail(source: str, exc: Exception) -> TemplateError:
    if isinstance(exc, TemplateError):
        why = str(exc)
    elif isinstance(exc, TemplateSyntaxError):
        why = f"syntax error: {exc.message}"
    elif isinstance(exc, SecurityError):
        why = f"refused by the sandbox: {exc}"
    elif isinstance(exc, JinjaError):
        why = str(exc.message or type(exc).__name__)
    else:
        why = f"{type(exc).__name__}: {exc}"
    return TemplateError(f"template {_shorten(source)!r}: {why}")


@lru_cache(maxsize=1024)
def _single_expression(source: str) -> str | None:
    """The inner expression when `source` is exactly one `{{ ... }}` and nothing else."""
    match = _SINGLE_EXPRESSION.match(source)
    if match is None:
        return None
    body = _ENV.parse(source).body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None  # e.g. "{{ a }} and {{ b }}"
    if isinstance(body[0].nodes[0], nodes.TemplateData):
        return None
    expr = match.group("expr")
    expr = expr[1:] if expr.startswith("-") else expr  # whitespace control: {{- x -}}
    return expr[:-1] if expr.endswith("-") else expr


def _render_string(source: str, context: Mapping[str, Any]) -> Any:
    if not is_template(source):
        return source
    try:
        expr = _single_expression(source)
        if expr is not None:
            return _plain(_expression(expr)(**context))
        return _template(source).render(**context)
    except Exception as exc:
        raise _fail(source, exc) from None


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """`value` with every template string rendered, recursively through dicts and lists.

    A string that is exactly one `{{ expression }}` becomes the expression's value with its type
    (an undefined one becomes None); any other template string becomes a string.
    """
    if isinstance(value, str):
        return _render_string(value, context)
    if isinstance(value, Mapping):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(item, context) for item in value]
    return value


def _truthy(value: Any) -> bool:
    if value is None or isinstance(value, Undefined):
        return False
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)


def evaluate_condition(expression: str, context: Mapping[str, Any]) -> bool:
    """Whether an `if:` holds. Accepts `"{{ expr }}"` or a bare `expr`.

    The result's truthiness decides; the strings "false", "0" and "" (any case, surrounding
    blanks ignored) are false, like undefined values and None.
    """
    source = expression.strip()
    if is_template(source):
        return _truthy(_render_string(source, context))
    if not source:
        return False
    try:
        return _truthy(_plain(_expression(source)(**context)))
    except Exception as exc:
        raise _fail(source, exc) from None


def resolve_from(
    config: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """`config` with each top-level `X_from: "<step>.<output>"` replaced by `X: <that value>`.

    The value keeps its type. A missing step or output, a malformed reference, or `X` given
    together with `X_from` is a `TemplateError` naming the key.
    """
    resolved: dict[str, Any] = {}
    for key, value in config.items():
        if not key.endswith(FROM_SUFFIX) or key == FROM_SUFFIX:
            resolved[key] = value
            continue
        target = key[: -len(FROM_SUFFIX)]
        if target in config:
            raise TemplateError(f"{key}: give either {target!r} or {key!r}, not both")
        resolved[target] = _lookup_output(key, value, outputs)
    return resolved


def _lookup_output(key: str, reference: Any, outputs: Mapping[str, Mapping[str, Any]]) -> Any:
    step, dot, output = reference.partition(".") if isinstance(reference, str) else ("", "", "")
    if not (step and dot and output):
        raise TemplateError(f'{key}: expected "<step>.<output>", got {reference!r}')
    if step not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise TemplateError(
            f"{key}: no step named {step!r} has run before this one (steps with outputs: {known})"
        )
    if output not in outputs[step]:
        known = ", ".join(sorted(outputs[step])) or "none"
        raise TemplateError(f"{key}: step {step!r} has no output {output!r} (it has: {known})")
    return outputs[step][output]


def build_context(
    *,
    event: Mapping[str, Any] | None,
    repo: Mapping[str, Any],
    pull_request: Mapping[str, Any] | None,
    release: Mapping[str, Any] | None,
    env: Mapping[str, str],
    vars: Mapping[str, Any],
    step_outputs: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The names a template sees: event, repo, pull_request, release, env, vars and
    `steps.<name>.outputs.<key>`. Absent parts are None (so `{% if pull_request %}` works)."""
    return {
        "event": dict(event) if event is not None else None,
        "repo": dict(repo),
        "pull_request": dict(pull_request) if pull_request is not None else None,
        "release": dict(release) if release is not None else None,
        "env": dict(env),
        "vars": dict(vars),
        "steps": {name: {"outputs": dict(values)} for name, values in step_outputs.items()},
    }


def verbatim_problem(config: Mapping[str, Any], verbatim: frozenset[str]) -> str | None:
    """Why `config` breaks its type's `verbatim` rule (see StepConfig), or None."""
    for key in sorted(verbatim):
        if f"{key}{FROM_SUFFIX}" in config:
            return f"`{key}_from` is not allowed: {_VERBATIM_WHY}"
        if _holds_template(config.get(key)):
            return f"`{key}` is never rendered as a template: {_VERBATIM_WHY}"
    return None


def render_config(
    config: Mapping[str, Any], context: Mapping[str, Any], *, verbatim: frozenset[str]
) -> dict[str, Any]:
    """A step's config with its templates rendered, its `verbatim` keys passed through as
    written (TemplateError if they hold a template)."""
    problem = verbatim_problem(config, verbatim)
    if problem is not None:
        raise TemplateError(problem)
    return {
        key: value if key in verbatim else render_value(value, context)
        for key, value in config.items()
    }


_VERBATIM_WHY = (
    "it reaches a shell, and values from people must not be spliced into a command line; "
    'use the SHIPYARD_* environment variables (e.g. "$SHIPYARD_PR_TITLE") or `env:`'
)


def _holds_template(value: Any) -> bool:
    if isinstance(value, list):
        return any(_holds_template(item) for item in value)
    return is_template(value)
