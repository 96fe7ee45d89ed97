"""A commit's CI as a deploy sees it: every check, or the required ones, and never Shipyard's
own statuses unless a required check names one."""

from __future__ import annotations

import pytest

from app.chatops.checks import CiVerdict, ci_verdict, is_own_context, shipyard_contexts
from app.features import parse_config
from providers.vocabulary import CommitState, StatusReport

S, P, R, F, E = (
    CommitState.SUCCESS,
    CommitState.PENDING,
    CommitState.RUNNING,
    CommitState.FAILURE,
    CommitState.ERROR,
)


def reports(*pairs: tuple[str, CommitState]) -> list[StatusReport]:
    return [StatusReport(context=context, state=state) for context, state in pairs]


@pytest.mark.parametrize(
    ("given", "required", "expected"),
    [
        # Every check counts.
        ((), None, CiVerdict("green")),
        ((("build", S), ("lint", S)), None, CiVerdict("green", checks=2)),
        (
            (("build", S), ("lint", P), ("test", R)),
            None,
            CiVerdict("pending", pending=("lint", "test"), checks=3),
        ),
        (
            (("build", F), ("lint", P), ("e2e", E)),
            None,
            CiVerdict(
                "failed", pending=("lint",), failed=("build", "e2e"), checks=3, errored=("e2e",)
            ),
        ),
        # Shipyard's own statuses are passed over.
        (
            (
                ("build", S),
                ("shipyard/deploy/staging", F),
                ("shipyard/config", E),
                ("shipyard/release", P),
                ("shipyard/review", R),
            ),
            None,
            CiVerdict("green", checks=1),
        ),
        ((("shipyard/deploy/production", P),), None, CiVerdict("green")),
        # Only the required ones count, globs allowed.
        ((("build", S), ("flaky", F)), ("build",), CiVerdict("green", checks=1)),
        (
            (("test-unit", S), ("test-e2e", P), ("docs", F)),
            ("test-*",),
            CiVerdict("pending", pending=("test-e2e",), checks=2),
        ),
        (
            (("build", S),),
            ("build", "test-*"),
            CiVerdict("pending", missing=("test-*",), checks=1),
        ),
        ((), ("build",), CiVerdict("pending", missing=("build",))),
        (
            (("build", E), ("test", P)),
            ("build", "test", "lint"),
            CiVerdict(
                "failed",
                pending=("test",),
                failed=("build",),
                missing=("lint",),
                checks=2,
                errored=("build",),
            ),
        ),
        ((("build", F),), (), CiVerdict("green")),  # nothing required
        # A required check may name a Shipyard status exactly; a glob never picks one up.
        (
            (("shipyard/tests", P),),
            ("shipyard/tests",),
            CiVerdict("pending", pending=("shipyard/tests",), checks=1),
        ),
        ((("shipyard/tests", S),), ("shipyard/*",), CiVerdict("pending", missing=("shipyard/*",))),
        ((("shipyard/deploy/staging", F), ("ci", S)), ("*",), CiVerdict("green", checks=1)),
        # Names are matched as written.
        ((("Build", S),), ("build",), CiVerdict("pending", missing=("build",))),
    ],
)
def test_ci_verdict(
    given: tuple[tuple[str, CommitState], ...],
    required: tuple[str, ...] | None,
    expected: CiVerdict,
) -> None:
    assert ci_verdict(reports(*given), required) == expected


def test_contexts_shipyard_writes_under_other_names_are_passed_over() -> None:
    given = reports(("ci/release", F), ("build", S))
    assert ci_verdict(given, None, own={"ci/release"}) == CiVerdict("green", checks=1)
    assert ci_verdict(given, ["ci/*"], own={"ci/release"}) == CiVerdict(
        "pending", missing=("ci/*",)
    )
    assert ci_verdict(given, ["ci/release"], own={"ci/release"}).state == "failed"
    assert ci_verdict(given, None).state == "failed"


@pytest.mark.parametrize(
    ("context", "own"),
    [
        ("shipyard/deploy/staging", True),
        ("shipyard/config", True),
        ("shipyard", False),
        ("ci/shipyard/x", False),
        ("Shipyard/config", False),
        ("ci/release", False),
    ],
)
def test_is_own_context(context: str, own: bool) -> None:
    assert is_own_context(context) is own


def test_shipyard_contexts_of_a_repo_config() -> None:
    text = """
pipelines:
  review:
    on: {pull_request: [opened]}
    steps:
      - {name: mark, type: update_status, config: {state: pending, context: qa/manual}}
      - {name: t, type: update_status, config: {state: success, context: "qa/{{ vars.x }}"}}
      - {name: d, type: update_status, config: {state: success}}
  release:
    on: {tag: ["v*"]}
    status_context: ci/release
    steps: [{name: s, type: run_command, config: {command: make}}]
"""
    assert shipyard_contexts(parse_config(text)) == {"qa/manual", "ci/release"}


@pytest.mark.parametrize(
    ("verdict", "line"),
    [
        (CiVerdict("green"), "CI is green (no checks)"),
        (CiVerdict("green", checks=1), "CI is green (1 check)"),
        (CiVerdict("green", checks=3), "CI is green (3 checks)"),
        (CiVerdict("pending", pending=("build", "lint")), "CI is pending: build, lint"),
        (
            CiVerdict("pending", pending=("build",), missing=("e2e",)),
            "CI is pending: build, e2e (not reported yet)",
        ),
        (CiVerdict("failed", failed=("test",)), "CI failed: test (failure)"),
        (
            CiVerdict("failed", failed=("e2e", "test"), errored=("e2e",), pending=("lint",)),
            "CI failed: e2e (error), test (failure); pending: lint",
        ),
        (
            CiVerdict("pending", pending=tuple(f"c{n}" for n in range(8))),
            "CI is pending: c0, c1, c2, c3, c4 and 3 more",
        ),
    ],
)
def test_summary(verdict: CiVerdict, line: str) -> None:
    assert verdict.summary() == line
