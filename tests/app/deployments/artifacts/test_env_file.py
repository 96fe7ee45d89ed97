"""The env-file: its quoting read back by a real bash and dash (`set -a; . ./file`) and by a
model of Docker Compose's reader; references kept as references; `fill` and
`secret_references`."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.deployments.artifacts import (
    ArtifactError,
    ArtifactInputs,
    ComponentView,
    fill,
    generate,
    secret_references,
)
from app.deployments.artifacts.dotenv import Unquotable, entries, line, quote, reference_line
from app.deployments.artifacts.secrets import references
from app.environments.config import ArtifactSpec
from tests.support.services import IN_CI

INPUTS = ArtifactInputs(
    provider="github",
    repository="acme/web",
    environment="production",
    release_id=42,
    release_name="v1.4.0",
    release_version="1.4.0",
    commit="9f2c1e7d3b5a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
    components=[
        ComponentView("web", "ghcr.io/acme/web", "sha256:" + "1" * 64, "v1.4.0"),
        ComponentView("queue-worker", "ghcr.io/acme/worker", None, "v1.4.0"),
    ],
    targets=[],
    job_id=7,
)

TRICKY = {
    "SPACES": "  two  spaces  ",
    "SINGLE": "it's",
    "DOUBLE": 'say "hi"',
    "DOLLAR": "$HOME ${PATH} $(id) $$",
    "HASH": "#not-a-comment # nor this",
    "NEWLINES": "one\ntwo\n\nthree\n",
    "BACKSLASHES": "C:\\path\\n\\t\\\\ end\\",
    "BACKQUOTE": "`id` and $(id)",
    "MIXED": 'it\'s "$x" \\ # done',
    "EMPTY": "",
    "EQUALS": "a=b=c",
    "UNICODE": "naïve — ✓ \u2028 \x85",
    "CARRIAGE": "a\rb",
    "LOOKS_LIKE_A_REFERENCE": "secret://not-one",
}


def _env_file(env: Mapping[str, str], inputs: ArtifactInputs = INPUTS) -> bytes:
    spec = ArtifactSpec.model_validate({"env-file": {"env": dict(env)}})
    return generate(spec, inputs).content


def _shell(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return path


def _sourced(shell: str, content: bytes, folder: Path) -> dict[str, str]:
    """What `set -a; . ./file; env` gives in `shell`, started with an empty environment."""
    (folder / "test.env").write_bytes(content)
    done = subprocess.run(
        [shell, "-c", "set -a; . ./test.env; env -0"],
        cwd=folder,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        check=True,
    )
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if item)
    return {key: value for key, value in pairs}


# -- A model of how Docker Compose v2 reads an env-file: compose-go's dotenv parser
# (dotenv/parser.go, v2.x), for the statements Shipyard writes. Quoted values end at the first
# quote not escaped by a backslash; an escaped quote drops its backslash, any other escape keeps
# it; double-quoted values then have their escape sequences expanded (`\$` becomes `$$`) and are
# interpolated (`$$` is a literal `$`; anything else starting with `$` would be a variable).
_ESCAPE_SEQUENCE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0\d{0,3})")
_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _compose_escapes(value: str) -> str:
    def expand(match: re.Match[str]) -> str:
        char = match.group()[1:]
        assert not char.startswith("0"), "an octal escape, which Shipyard never writes"
        return "$$" if char == "$" else _GO_ESCAPES.get(char, char)

    return _ESCAPE_SEQUENCE.sub(expand, value)


def _compose_interpolate(value: str) -> str:
    out, at = [], 0
    while at < len(value):
        if value[at] == "$":
            assert value[at : at + 2] == "$$", f"compose would interpolate {value[at:]!r}"
            out.append("$")
            at += 2
        else:
            out.append(value[at])
            at += 1
    return "".join(out)


def _compose_quoted(src: str, quote_char: str) -> tuple[str, str]:
    chars, escaped = [], False
    for at in range(1, len(src)):
        char = src[at]
        if escaped:
            escaped = False
            chars.append(char if char == quote_char else "\\" + char)
        elif char == "\\":
            escaped = True
        elif char == quote_char:
            return "".join(chars), src[at + 1 :]
        else:
            chars.append(char)
    raise AssertionError("compose: unterminated quoted value")


def compose_reads(content: bytes) -> dict[str, str]:
    """The values Docker Compose v2 reads from `content` (the model above)."""
    src, found = content.decode(), {}
    while src := src.lstrip():
        if src.startswith("#"):
            src = src.partition("\n")[2]
            continue
        key, equals, src = src.partition("=")
        assert equals, f"compose: no '=' after {key!r}"
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+", key), key
        src = src.lstrip(" \t")
        opening = src[:1]
        if opening == "'":
            found[key], src = _compose_quoted(src, opening)
        elif opening == '"':
            value, src = _compose_quoted(src, opening)
            found[key] = _compose_interpolate(_compose_escapes(value))
        else:
            value, _, src = src.partition("\n")
            found[key] = _compose_interpolate(value.split(" #")[0].rstrip())
    return found


# -- the quoting


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_tricky_values_read_back_intact_in_a_shell(shell: str, tmp_path: Path) -> None:
    representable = {key: value for key, value in TRICKY.items() if key != "BACKQUOTE"}
    read = _sourced(_shell(shell), _env_file(representable), tmp_path)
    assert {key: read.get(key) for key in representable} == representable
    assert read["SHIPYARD_RELEASE"] == "v1.4.0"


def test_tricky_values_read_back_intact_in_compose() -> None:
    representable = {key: value for key, value in TRICKY.items() if key != "BACKQUOTE"}
    read = compose_reads(_env_file(representable))
    assert {key: read[key] for key in representable} == representable


def test_a_backquote_is_written_when_no_quote_or_backslash_comes_with_it(tmp_path: Path) -> None:
    value = '`id` and $(id) and "quotes"'
    content = _env_file({"RUN": value})
    assert b"RUN='`id` and $(id) and \"quotes\"'\n" in content
    assert _sourced(_shell("bash"), content, tmp_path)["RUN"] == value
    assert compose_reads(content)["RUN"] == value


@pytest.mark.parametrize("value", ["it's `id`", "`id` \\", "nul \0 byte"])
def test_a_value_no_quoting_reads_back_is_refused_naming_the_key(value: str) -> None:
    with pytest.raises(ArtifactError, match="the value of RUN cannot be written") as raised:
        _env_file({"RUN": value})
    assert value not in str(raised.value)


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


def _representable(value: str) -> bool:
    return "\0" not in value and not ("`" in value and ("'" in value or "\\" in value))


@given(_TEXT)
@example("'")
@example("\\")
@example('"\\"$`')
@example("a\\")
def test_a_value_is_quoted_exactly_when_both_readers_read_it_back(value: str) -> None:
    if not _representable(value):
        with pytest.raises(Unquotable):
            quote(value)
        return
    written = line("KEY", value) + "\n"
    assert [entry.value for entry in entries(written)] == [value]
    assert compose_reads(written.encode()) == {"KEY": value}


_FIXTURES = [HealthCheck.function_scoped_fixture]


@settings(max_examples=25, deadline=None, suppress_health_check=_FIXTURES)
@given(values=st.lists(_TEXT.filter(_representable), min_size=1, max_size=8))
def test_any_quotable_values_read_back_intact_in_bash(values: list[str], tmp_path: Path) -> None:
    env = {f"VALUE_{index}": value for index, value in enumerate(values)}
    read = _sourced(_shell("bash"), _env_file(env), tmp_path)
    assert {key: read.get(key) for key in env} == env


# -- what the file holds


def test_the_release_values_name_each_component() -> None:
    read = compose_reads(_env_file({}))
    assert read["SHIPYARD_DIGESTS"] == '{"queue-worker":null,"web":"sha256:' + "1" * 64 + '"}'
    assert read["SHIPYARD_DIGEST_WEB"] == "sha256:" + "1" * 64
    assert read["SHIPYARD_IMAGE_WEB"] == "ghcr.io/acme/web@sha256:" + "1" * 64
    assert read["SHIPYARD_DIGEST_QUEUE_WORKER"] == ""
    assert read["SHIPYARD_IMAGE_QUEUE_WORKER"] == "ghcr.io/acme/worker:v1.4.0"
    assert (read["SHIPYARD_RELEASE"], read["SHIPYARD_ENVIRONMENT"]) == ("v1.4.0", "production")
    assert (read["SHIPYARD_COMMIT"], read["SHIPYARD_JOB_ID"]) == (INPUTS.commit, "7")


def test_lines_are_sorted_by_key() -> None:
    keys = [entry.key for entry in entries(_env_file({"ZED": "z", "ALPHA": "a"}).decode())]
    assert keys == sorted(keys)
    assert {"ALPHA", "ZED"} <= set(keys)


def test_two_components_whose_names_meet_are_an_error() -> None:
    inputs = dataclasses.replace(
        INPUTS,
        components=[
            ComponentView("web-api", "ghcr.io/acme/a", None),
            ComponentView("web_api", "ghcr.io/acme/b", None),
        ],
    )
    with pytest.raises(ArtifactError, match="both become SHIPYARD_DIGEST_WEB_API"):
        _env_file({}, inputs)


def test_a_release_value_that_looks_like_a_reference_stays_a_value() -> None:
    inputs = dataclasses.replace(INPUTS, release_name="secret://db-password")
    content = _env_file({"TOKEN": "secret://api-token"}, inputs)
    assert b"SHIPYARD_RELEASE='secret://db-password'\n" in content
    assert references(content) == ["secret://api-token"]


def test_a_server_side_reference_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError, match="TOKEN: env:// references are for the server"):
        _env_file({"TOKEN": "env://GITHUB_TOKEN"})  # the config refuses it
    with pytest.raises(ArtifactError, match="TOKEN: env:// references are for the server"):
        reference_line("TOKEN", "env://GITHUB_TOKEN")  # and so would the generator


# -- references and fill


SECRETS = {
    "secret://db-password": 'p@ss w\'rd\\ $HOME "#1"\nsecond line',
    "secret://api-token": "tok_`abc`_$x",
}


def test_references_are_written_as_references() -> None:
    content = _env_file({"DB": "secret://db-password", "API": "secret://api-token"})
    assert b"\nDB=secret://db-password\n" in content
    assert b"\nAPI=secret://api-token\n" in content
    for value in SECRETS.values():
        assert value.encode() not in content


def test_secret_references_finds_each_once_in_file_order() -> None:
    spec = ArtifactSpec.model_validate(
        {
            "env-file": {
                "env": {
                    "B": "secret://api-token",
                    "A": "secret://db-password",
                    "C": "secret://api-token",
                    "D": "plain",
                }
            }
        }
    )
    artifact = generate(spec, INPUTS)
    assert secret_references(artifact) == ["secret://db-password", "secret://api-token"]
    other = dataclasses.replace(artifact, name="manifest")
    assert secret_references(other) == []


def test_fill_leaves_no_reference_and_both_readers_get_the_values(tmp_path: Path) -> None:
    content = _env_file({"DB": "secret://db-password", "API": "secret://api-token", "X": "x"})
    filled = fill(content, SECRETS)
    assert b"secret://" not in filled
    assert references(filled) == []
    expected = {"DB": SECRETS["secret://db-password"], "API": SECRETS["secret://api-token"]}
    read = _sourced(_shell("bash"), filled, tmp_path)
    assert {key: read[key] for key in [*expected, "X"]} == {**expected, "X": "x"}
    assert {key: compose_reads(filled)[key] for key in expected} == expected
    kept = [(e.key, e.value) for e in entries(content.decode()) if e.key not in expected]
    assert [(e.key, e.value) for e in entries(filled.decode()) if e.key not in expected] == kept


def test_a_value_that_looks_like_a_reference_is_filled_once() -> None:
    content = _env_file({"A": "secret://one"})
    filled = fill(content, {"secret://one": "secret://two"})
    assert b"A='secret://two'\n" in filled
    assert references(filled) == []


def test_fill_without_a_value_names_the_reference() -> None:
    content = _env_file({"DB": "secret://db-password", "API": "secret://api-token"})
    with pytest.raises(ArtifactError, match="API: secret://api-token has no resolved value"):
        fill(content, {"secret://db-password": "hunter2"})


def test_fill_refuses_a_value_no_quoting_reads_back_without_showing_it() -> None:
    content = _env_file({"DB": "secret://db-password"})
    with pytest.raises(ArtifactError, match="DB: the value of secret://db-password") as raised:
        fill(content, {"secret://db-password": "it's `x`"})
    assert "it's" not in str(raised.value)


def test_fill_refuses_a_file_shipyard_did_not_write() -> None:
    with pytest.raises(ArtifactError, match="line 2: an unquoted value"):
        fill(b"A='x'\nB=plain\n", {})


@settings(max_examples=50)
@given(
    st.dictionaries(
        st.sampled_from(["secret://a", "secret://b", "secret://c"]),
        _TEXT.filter(_representable),
        min_size=3,
    )
)
def test_fill_gives_every_value_back(values: dict[str, str]) -> None:
    content = _env_file({"A": "secret://a", "B": "secret://b", "C": "secret://c", "D": "d"})
    filled = fill(content, values)
    read = {entry.key: entry.value for entry in entries(filled.decode())}
    assert [read["A"], read["B"], read["C"], read["D"]] == [
        values["secret://a"],
        values["secret://b"],
        values["secret://c"],
        "d",
    ]
    assert compose_reads(filled)["A"] == values["secret://a"]
    assert references(filled) == []
