"""The pins Heroku installs (`constraints.txt`, which `requirements.txt` applies to `.`): every
package the runtime dependencies in `pyproject.toml` need, at the version installed here.

`make requirements` writes them (`python -m tests.support.lock`); the tests compare them with
what is installed, offline: `make test` installs with `-c constraints.txt`, so the two agree
unless `pyproject.toml` changed and the pins were not written again.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

__all__ = ["CONSTRAINTS", "HEADER", "pinned", "runtime_pins", "write"]

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints.txt"
HEADER = (
    "# The versions of every package Shipyard needs at run time, for Heroku's Python buildpack\n"
    "# (requirements.txt installs `.` with these). Written by `make requirements` from the\n"
    "# dependencies in pyproject.toml and what is installed; a test fails when they disagree.\n"
)


def _wanted(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    environment: dict[str, str] = dict(default_environment())
    return any(
        requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras or {""}
    )


def runtime_pins(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """name → installed version, for the runtime dependencies and all they need in turn."""
    project = tomllib.loads(pyproject.read_text())["project"]
    todo = [Requirement(text) for text in project["dependencies"]]
    seen: set[tuple[str, frozenset[str]]] = set()
    pins: dict[str, str] = {}
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        pins[name] = metadata.version(name)
        for text in metadata.requires(name) or []:
            needed = Requirement(text)
            if _wanted(needed, frozenset(requirement.extras)):
                todo.append(needed)
    return dict(sorted(pins.items()))


def pinned(path: Path = CONSTRAINTS) -> dict[str, str]:
    """name → version, as `path` pins them (`name==version` lines; comments ignored)."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            name, equals, version = text.partition("==")
            assert equals, f"{path.name}: {line!r} is not name==version"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def write(path: Path = CONSTRAINTS) -> None:
    lines = [f"{name}=={version}" for name, version in runtime_pins().items()]
    path.write_text(HEADER + "\n".join(lines) + "\n")


if __name__ == "__main__":
    write()
    sys.stdout.write(f"wrote {CONSTRAINTS.name}\n")
