"""`.shipyard.yml` as sections: each feature's key checked by its own model, unknown keys with
a "did you mean", a file that declares nothing said to, and the validation context passed on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from app.repo_config import ConfigError, RepoConfigSchema, Section


class Lock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str
    reason: str = ""

    @field_validator("owner")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        people = (info.context or {}).get("people", ())
        if people and value not in people:
            raise ValueError(f"{value!r} is nobody we know")
        return value


LOCKS: Section[dict[str, Lock]] = Section("locks", dict[str, Lock], {})
BANNER: Section[dict[str, Any]] = Section("banner", dict[str, Any], {})
SCHEMA = RepoConfigSchema([LOCKS, BANNER])


def problems(text: str, **context: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        SCHEMA.parse(text, context=context)
    return caught.value.lines()


def test_each_section_gives_its_own_value() -> None:
    config = SCHEMA.parse("locks:\n  prod: {owner: ann}\nx-anchor: &a {}\n")
    assert LOCKS.of(config) == {"prod": Lock(owner="ann")}
    assert BANNER.of(config) == {}  # absent: its empty value


def test_an_unknown_key_names_the_sections() -> None:
    assert problems("lock: {}\n") == [
        ".shipyard.yml:1: lock: unknown key 'lock' (did you mean 'locks'?)"
    ]
    assert problems("colour: blue\n") == [
        ".shipyard.yml:1: colour: unknown key 'colour'; expected one of: locks, banner"
    ]


def test_a_section_error_has_its_line_and_path() -> None:
    assert problems("banner: {}\nlocks:\n  prod:\n    ownr: ann\n") == [
        ".shipyard.yml:3: locks.prod.owner: required key is missing",
        ".shipyard.yml:4: locks.prod.ownr: unknown key 'ownr' (did you mean 'owner'?)",
    ]


def test_the_context_reaches_the_sections_validators() -> None:
    assert problems("locks: {prod: {owner: bob}}\n", people=("ann",)) == [
        ".shipyard.yml:1: locks.prod.owner: 'bob' is nobody we know"
    ]


def test_a_file_that_declares_nothing_says_what_it_could_declare() -> None:
    assert problems("locks: {}\n") == [".shipyard.yml: declares nothing (no locks or banner)"]


def test_two_features_cannot_own_one_key() -> None:
    with pytest.raises(ValueError, match="two features register the config section 'locks'"):
        RepoConfigSchema([LOCKS, Section("locks", dict[str, Any], {})])
