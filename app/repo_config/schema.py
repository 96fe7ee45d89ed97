"""`.shipyard.yml`: parsed into the sections features register, with a line for every problem.

Pure: text in, `RepoConfig` or `ConfigError` out. How it fits together:

- Each top-level key is a `Section` a feature owns (`pipelines:` is the pipelines feature's);
  `app.features` lists them and builds the one `RepoConfigSchema`. A key no section owns is a
  problem with a "did you mean". Top-level keys starting with `x-` are ignored, as in Compose:
  a place for YAML anchors. A file whose sections declare nothing (empty, comments only,
  `pipelines: {}`) is a problem too: it would silently do nothing.
- YAML is composed once (a SafeLoader with YAML 1.2 booleans, so `on:` stays the string "on"
  and `yes` stays "yes") and constructed from the same node tree; the nodes give every problem
  its line. Duplicate keys, which PyYAML would silently collapse, are problems too
  (`yaml_nodes`).
- A section's pydantic annotation does all the checking of its value, cross-field checks
  included, so every problem of every section comes back in one pass. A pydantic error `loc`
  is walked down the YAML nodes to find its line and the path the user wrote; shorthands
  (`pull_request: [opened]` for `{actions: [opened]}`) are passed over on the way. Its message
  is worded by `messages`; `errors` holds the problem types.
- `context` reaches the validators (pydantic's validation context): the pipelines section
  reads the step types from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

from app.repo_config.errors import ConfigError, ConfigProblem, did_you_mean, show_value
from app.repo_config.messages import problem_message, reported_errors
from app.repo_config.yaml_nodes import duplicate_keys, load_yaml, locate

__all__ = ["CONFIG_PATH", "Relation", "RepoConfig", "RepoConfigSchema", "Section"]

CONFIG_PATH = ".shipyard.yml"
EXTENSION_PREFIX = "x-"

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Section(Generic[T]):
    """One top-level key of `.shipyard.yml` and what its value is checked as.

    `empty` is its value when the key is absent; `declares` says whether a value asks Shipyard
    to do anything (an empty `pipelines: {}` does not). A section that only tunes the others
    (`pull_requests:`) declares nothing on its own: `declares=None`."""

    key: str
    annotation: Any
    empty: T
    declares: Callable[[T], bool] | None = bool

    @cached_property
    def adapter(self) -> TypeAdapter[T]:
        return TypeAdapter(self.annotation)

    def of(self, config: RepoConfig) -> T:
        """This section's value in `config`."""
        return cast(T, config.values.get(self.key, self.empty))


@dataclass(frozen=True)
class RepoConfig:
    """A valid `.shipyard.yml`: each section's value, by key (read them with `Section.of`)."""

    values: Mapping[str, Any] = field(default_factory=dict)


Relation = Callable[[RepoConfig], list[tuple[tuple[str | int, ...], str]]]
"""A check across sections (a rule naming a component another section declares): the path
and message of each problem, once every section on its own is valid."""


class RepoConfigSchema:
    """The sections Shipyard knows, and parsing a file into them."""

    def __init__(
        self, sections: Iterable[Section[Any]], relations: Iterable[Relation] = ()
    ) -> None:
        self.relations = tuple(relations)
        self.sections: dict[str, Section[Any]] = {}
        for section in sections:
            if section.key in self.sections:
                raise ValueError(f"two features register the config section {section.key!r}")
            self.sections[section.key] = section

    def parse(
        self,
        text: str,
        *,
        filename: str = CONFIG_PATH,
        context: Mapping[str, Any] | None = None,
    ) -> RepoConfig:
        """The repo config in `text`, or ConfigError listing every problem with its line."""
        try:
            root, data = load_yaml(text)
        except ConfigError as unreadable:
            raise ConfigError(unreadable.problems, filename=filename) from None
        problems = duplicate_keys(root)
        data = {} if data is None else data
        if not isinstance(data, dict):
            line = None if root is None else root.start_mark.line + 1
            message = (
                f"the file must be a mapping of keys such as `pipelines:`, not {show_value(data)}"
            )
            raise ConfigError([*problems, ConfigProblem(line, "", message)], filename=filename)
        values: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and key.startswith(EXTENSION_PREFIX):
                continue
            section = self.sections.get(key) if isinstance(key, str) else None
            if section is None:
                line, path = locate(root, (str(key),))
                message = f"unknown key {str(key)!r}{did_you_mean(str(key), self.sections)}"
                problems.append(ConfigProblem(line, path, message))
                continue
            try:
                values[key] = section.adapter.validate_python(value, context=dict(context or {}))
            except ValidationError as invalid:
                for error in reported_errors(invalid.errors(include_url=False)):
                    line, path = locate(root, (key, *error["loc"]))
                    message = problem_message(error, section.annotation, value, context or {})
                    problems.append(ConfigProblem(line, path, message))
        if problems:
            raise ConfigError(problems, filename=filename)
        config = RepoConfig(values)
        for relation in self.relations:
            for loc, message in relation(config):
                line, path = locate(root, loc)
                problems.append(ConfigProblem(line, path, message))
        if problems:
            raise ConfigError(problems, filename=filename)
        if not any(
            section.declares(section.of(config))
            for section in self.sections.values()
            if section.declares is not None
        ):
            raise ConfigError(
                [ConfigProblem(None, "", self._declares_nothing())], filename=filename
            )
        return config

    def check_file(self, path: Path, *, context: Mapping[str, Any] | None = None) -> list[str]:
        """Every problem of the config file at `path`, formatted one per line; [] when valid."""
        filename = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [
                f"{filename}: no such file (Shipyard reads {CONFIG_PATH} at the repository root)"
            ]
        except UnicodeDecodeError as error:
            return [f"{filename}: not UTF-8 text (byte {error.start})"]
        except OSError as error:
            return [f"{filename}: cannot read it: {error.strerror or error}"]
        try:
            self.parse(text, filename=filename, context=context)
        except ConfigError as error:
            return error.lines()
        return []

    def _declares_nothing(self) -> str:
        keys = [key for key, section in self.sections.items() if section.declares is not None]
        listed = keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} or {keys[-1]}"
        return f"declares nothing (no {listed})"
