"""Normalisation keeps what a column can hold: exact values (refs, shas, names, URLs) that do not
fit are refused naming the field and the limit, free text is cleaned and cut, numbers are
range-checked — for every host, and the real corpus normalises exactly as it did before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.bounds import (
    BODY_MAX,
    NUMBER_MAX,
    REF_MAX,
    TITLE_MAX,
    exact_problem,
    line,
    sha_problem,
    text,
)
from providers.events import Event
from providers.normalise import PayloadShapeError, normalise
from tests.support.bounds import BREAKING_INTEGERS, BREAKING_STRINGS, changed, leaves, misfits
from tests.support.corpus import corpus_cases, corpus_dir, event_name
from tests.support.hosts import pull_request_delivery
from tests.support.samples import SAMPLES

CORPUS = corpus_dir()  # skips this module without the corpus, fails it under CI=true
CASES = corpus_cases(CORPUS)
# What every corpus case normalised to before values were bounded (exclude_none).
BEFORE: dict[str, Any] = json.loads((SAMPLES / "corpus" / "normalised.json").read_text())

SHA = "a" * 40


# --- the rules -----------------------------------------------------------------------------


def test_text_loses_control_characters_but_line_breaks_and_is_cut_with_an_ellipsis() -> None:
    assert text("a\x00b\x07c\td\ne\r\ud800f\x7f", 100) == "abc\td\ne\rf"
    assert text("x" * 10, 10) == "x" * 10
    assert text("x" * 11, 10) == "x" * 9 + "…"


def test_a_stored_line_loses_every_control_character_and_is_cut() -> None:
    assert line("open\x00ed\n\ud800", 100) == "opened"
    assert line("y" * 150, 100) == "y" * 100


def test_an_exact_value_is_refused_when_too_long_or_holding_a_control_character() -> None:
    assert exact_problem("r" * 300, 300) is None
    assert exact_problem("r" * 301, 300) == "is 301 characters long; Shipyard keeps at most 300"
    problem = exact_problem("fea\x00ture", 300)
    assert problem == "holds a control character ('\\x00' at 3), which no name may"
    assert exact_problem("a\ud800", 300) is not None
    assert exact_problem("line\nbreak", 300) is not None


@pytest.mark.parametrize("good", ["", "0" * 40, SHA, "AbC" * 13 + "d", "f" * 64])
def test_a_sha_of_40_or_64_hex_digits_or_none_is_one(good: str) -> None:
    assert sha_problem(good) is None


@pytest.mark.parametrize("bad", ["a" * 39, "a" * 41, "a" * 65, "g" * 40, "a" * 39 + "\x00", "0"])
def test_anything_else_is_no_sha(bad: str) -> None:
    problem = sha_problem(bad)
    assert problem is not None
    assert "40 or 64 hex digits" in problem


# --- each host refuses what does not fit, naming the field -----------------------------------


def _github_pr(**changes: Any) -> dict[str, Any]:
    return changed(pull_request_delivery("github")[1], **changes)


def _gitea_pr(**changes: Any) -> dict[str, Any]:
    return changed(pull_request_delivery("gitea")[1], **changes)


def _gitlab_mr(**changes: Any) -> dict[str, Any]:
    return changed(pull_request_delivery("gitlab")[1], **changes)


PR, MR = "pull_request", "Merge Request Hook"
REFUSED: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("github", PR, _github_pr(pull_request__head__ref="r" * 301), "pull_request.head.ref", "300"),
    ("github", PR, _github_pr(pull_request__base__ref="b\x00"), "pull_request.base.ref", "x00"),
    ("github", PR, _github_pr(pull_request__head__sha="a" * 65), "pull_request.head.sha", "64"),
    ("github", PR, _github_pr(pull_request__head__sha="z" * 40), "head.sha", "hex"),
    ("github", PR, _github_pr(number=NUMBER_MAX + 1), "payload.number", "2**31-1"),
    ("github", PR, _github_pr(number=-1), "payload.number", "0 to"),
    ("github", PR, _github_pr(pull_request__number=2**63), "pull_request.number", "2**31-1"),
    ("github", PR, _github_pr(installation={"id": 2**63}), "installation.id", "2**63-1"),
    ("github", PR, _github_pr(sender__id=-(2**63) - 1), "sender.id", "-2**63"),
    ("github", PR, _github_pr(sender__login="l" * 256), "sender.login", "255"),
    ("github", PR, _github_pr(repository__full_name="o/" + "n" * 299), "full_name", "300"),
    ("github", PR, _github_pr(repository__html_url="h" * 2049), "html_url", "2048"),
    ("github", PR, _github_pr(repository__default_branch="m\x1b"), "default_branch", "x1b"),
    ("github", PR, _github_pr(action="open\x00ed"), "payload.action", "control"),
    ("github", PR, _github_pr(action="a" * 101), "payload.action", "100"),
    ("github", "push", {"ref": "refs/heads/" + "b" * 300}, "payload.ref", "300"),
    ("github", "push", {"ref": "refs/heads/main", "after": "a" * 65}, "payload.after", "64"),
    ("github", "deployment", {"deployment": {"environment": "e" * 256}}, "environment", "255"),
    ("github", "release", {"release": {"tag_name": "v\x00"}}, "release.tag_name", "control"),
    ("gitea", PR, _gitea_pr(pull_request__head__ref="r" * 301), "pull_request.head.ref", "300"),
    ("gitea", PR, _gitea_pr(number=2**31), "payload.number", "2**31-1"),
    ("forgejo", "push", {"ref": "refs/tags/v\x00"}, "payload.ref", "control"),
    ("gitlab", MR, _gitlab_mr(object_attributes__source_branch="s" * 301), "source_branch", "300"),
    ("gitlab", MR, _gitlab_mr(object_attributes__iid=2**31), "object_attributes.iid", "2**31-1"),
    ("gitlab", MR, _gitlab_mr(object_attributes__last_commit__id="c" * 65), "last_commit.id", "64"),
    ("gitlab", MR, _gitlab_mr(project__path_with_namespace="g/" * 151), "path_with", "300"),
    ("gitlab", MR, _gitlab_mr(object_attributes__action="up\x00date"), "action", "control"),
    ("gitlab", "Pipeline Hook", {"object_attributes": {"sha": "s" * 40}}, "sha", "hex"),
    ("gitlab", "Push Hook", {"ref": "refs/heads/x", "user_id": 2**63}, "payload.user_id", "2**63"),
]


@pytest.mark.parametrize(
    ("provider", "event_name", "payload", "field", "limit"),
    REFUSED,
    ids=[f"{provider}-{field}-{limit}" for provider, _, _, field, limit in REFUSED],
)
def test_a_value_no_column_can_keep_is_refused_naming_the_field_and_the_limit(
    provider: str, event_name: str, payload: dict[str, Any], field: str, limit: str
) -> None:
    with pytest.raises(PayloadShapeError) as raised:
        normalise(provider, event_name, payload, delivery_id="d-1")
    message = str(raised.value)
    assert field in message
    assert limit in message
    assert message.isprintable()  # storable as the delivery's error, and readable


def test_values_at_the_limits_are_kept() -> None:
    payload = _github_pr(
        number=NUMBER_MAX,
        pull_request__number=NUMBER_MAX,
        pull_request__head__ref="r" * REF_MAX,
        pull_request__head__sha="f" * 64,
        installation={"id": 2**63 - 1},
        sender={"login": "ghost", "id": -1},  # Gitea's ghost user
    )
    event = normalise("github", "pull_request", payload, delivery_id="d-1")
    assert event.pull_request is not None
    assert (event.pull_request.number, event.pull_request.head_ref) == (NUMBER_MAX, "r" * 300)
    assert (event.sha, event.installation_id) == ("f" * 64, 2**63 - 1)
    assert event.actor is not None
    assert event.actor.id == -1


def test_titles_bodies_and_names_are_cleaned_and_cut() -> None:
    title = "T\x00" * 60_000
    pr = _github_pr(pull_request__title=title)
    event = normalise("github", "pull_request", pr, delivery_id="d-1")
    assert event.pull_request is not None
    assert event.pull_request.title == "T" * (TITLE_MAX - 1) + "…"

    comment = {"comment": {"id": 5, "body": "/deploy\x00 staging\n" + "b" * BODY_MAX}}
    event = normalise("github", "commit_comment", comment, delivery_id="d-1")
    assert event.comment is not None
    assert event.comment.body is not None
    assert event.comment.body.startswith("/deploy staging\nbbb")
    assert len(event.comment.body) == BODY_MAX

    note = {"object_attributes": {"note": "n\ud800ote", "noteable_type": "Issue"}}
    event = normalise("gitlab", "Note Hook", note, delivery_id="d-1")
    assert event.comment is not None
    assert event.comment.body == "note"

    release = {"tag": "v1", "name": "r" * 5000}
    event = normalise("gitlab", "Release Hook", release, delivery_id="d-1")
    assert event.release is not None
    assert event.release.name == "r" * (TITLE_MAX - 1) + "…"


# --- the corpus: every field bent out of bounds, and as it is --------------------------------


def _payload(case: dict[str, Any]) -> Any:
    return json.loads((CORPUS / case["file"]).read_bytes())


def _replaced(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = json.loads(json.dumps(payload))
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def _breaking(original: str | int) -> tuple[str | int, ...]:
    return BREAKING_STRINGS if isinstance(original, str) else BREAKING_INTEGERS


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}-{event_name(c)}" for c in CASES])
def test_any_corpus_field_out_of_bounds_is_refused_or_kept_within_them(
    case: dict[str, Any],
) -> None:
    """The fuzz that found the faults, over every real delivery: each string or number of the
    payload replaced by one no column could keep gives a PayloadShapeError or an Event that
    fits the columns — never anything else."""
    payload, name = _payload(case), event_name(case)

    def normalised(payload: Any) -> Event:
        return normalise(case["provider"], name, payload, delivery_id="corpus")

    assert misfits(normalised(payload)) == []
    for path, original in leaves(payload):
        for value in _breaking(original):
            try:
                event = normalised(_replaced(payload, path, value))
            except PayloadShapeError:
                continue
            assert misfits(event) == [], (path, value if len(str(value)) < 50 else "...")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}-{event_name(c)}" for c in CASES])
def test_the_corpus_normalises_exactly_as_before_the_bounds(case: dict[str, Any]) -> None:
    name = event_name(case)
    event = normalise(case["provider"], name, _payload(case), delivery_id="corpus")
    assert json.loads(event.model_dump_json(exclude_none=True)) == BEFORE[f"{case['file']} {name}"]
