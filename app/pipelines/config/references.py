"""Secret references in a pipeline: each written as `secret://NAME`, and — when the config is
read for a repository — each defined on the server and granted to that repository (pure)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from steps.secret_refs import SecretError, is_reference, parse_reference

__all__ = ["GRANTS", "reference_problems"]

GRANTS = "secret_grants"  # the validation context's key for an `app.secrets.SecretGrants`

Loc = tuple[str | int, ...]


def reference_problems(
    env: Mapping[str, Any], steps: list[Any], context: object
) -> Iterator[tuple[Loc, str]]:
    """(location, message) for each reference that is malformed, names a server-side source,
    or (with grants in `context`) is not granted to the repository."""
    grants = context.get(GRANTS) if isinstance(context, Mapping) else None
    found: list[tuple[Loc, Any]] = [(("env", key), value) for key, value in env.items()]
    for index, step in enumerate(steps):
        found += [(("steps", index, "env", key), value) for key, value in step.env.items()]
        found += list(_strings(step.config, ("steps", index, "config")))
    for loc, value in found:
        if not (isinstance(value, str) and is_reference(value)):
            continue
        try:
            ref = parse_reference(value, allowed=("secret",))
        except SecretError as error:
            yield loc, str(error)
            continue
        problem = grants.problem(ref.name) if grants is not None else None
        if problem is not None:
            yield loc, problem


def _strings(value: Any, loc: Loc) -> Iterator[tuple[Loc, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))
    else:
        yield loc, value
