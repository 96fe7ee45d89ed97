"""YAML in: load with 1.2 booleans, find the line of an error's path, spot duplicate keys."""

from __future__ import annotations

import re
from typing import Any

import yaml

from app.repo_config.errors import ConfigError, ConfigProblem
from app.repo_config.fields import NAME_PATTERN

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (true/false only) and numbers (no base 60). YAML 1.1
    also reads on/off/yes/no as booleans, which would make the `on:` key True (the GitHub
    Actions surprise), and an unquoted time such as 16:00 as the number 960."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    _INT,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml(text: str) -> tuple[yaml.Node | None, Any]:
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
        elif NAME_PATTERN.fullmatch(part):
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


def locate(root: yaml.Node | None, loc: tuple[str | int, ...]) -> tuple[int | None, str]:
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


def duplicate_keys(root: yaml.Node | None) -> list[ConfigProblem]:
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
