"""Template rendering: types, nesting, undefined chains, the sandbox, conditions, `_from`."""

from __future__ import annotations

from typing import Any

import pytest

from steps.templates import (
    TemplateError,
    build_context,
    evaluate_condition,
    render_value,
    resolve_from,
)


def context(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "event": {"kind": "pull_request", "action": "opened", "actor": {"login": "octocat"}},
        "repo": {"full_name": "acme/web"},
        "pull_request": {"number": 7, "title": "Fix {{ 7 * 7 }}", "draft": False},
        "release": None,
        "env": {"STAGE": "staging"},
        "vars": {"version": "1.2.3", "replicas": 3, "regions": ["eu", "us"]},
        "step_outputs": {"tests": {"status": "passed", "count": 12, "ok": True}},
    }
    return build_context(**(values | overrides))


PUSH = context(event={"kind": "push", "branch": "main"}, pull_request=None, step_outputs={})


def test_the_context_has_every_name() -> None:
    ctx = context()
    assert set(ctx) == {"event", "repo", "pull_request", "release", "env", "vars", "steps"}
    assert ctx["steps"] == {"tests": {"outputs": {"status": "passed", "count": 12, "ok": True}}}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ pull_request.number }}", 7),
        ("{{ steps.tests.outputs.ok }}", True),
        ("{{ pull_request.draft }}", False),
        ("{{ vars.regions }}", ["eu", "us"]),
        ("{{ repo }}", {"full_name": "acme/web"}),
        ("{{- vars.replicas + 1 -}}", 4),
        ("{{ release }}", None),
        ("{{ pull_request.missing }}", None),
        ("#{{ pull_request.number }}", "#7"),
        (" {{ pull_request.number }}", " 7"),
        ("{{ vars.replicas }}{{ vars.replicas }}", "33"),
        ("{{ vars.version }} and {{ env.STAGE }}", "1.2.3 and staging"),
        ("ok={{ steps.tests.outputs.ok }}", "ok=true"),
        ("{{ vars.regions }}!", '["eu", "us"]!'),
        ("{{ vars.regions | map('upper') }}", ["EU", "US"]),
        ("{{ vars.regions | map('upper') }}.", '["EU", "US"].'),
        ("{{ vars.version.upper() }}", "1.2.3"),
        ("{{ '-' * 3 }}", "---"),
        ("{{ 2 ** 10 }}", 1024),
        ("{% if pull_request %}PR {{ pull_request.number }}{% endif %}", "PR 7"),
        ("plain text", "plain text"),
    ],
)
def test_rendering_keeps_types_for_one_expression(template: str, expected: Any) -> None:
    assert render_value(template, context()) == expected


def test_rendering_is_recursive_and_leaves_other_values() -> None:
    value = {
        "title": "Bump {{ vars.version }}",
        "replicas": "{{ vars.replicas }}",
        "labels": ["v{{ vars.version }}", 3, None, True],
        "nested": {"deep": ["{{ env.STAGE }}"]},
    }
    assert render_value(value, context()) == {
        "title": "Bump 1.2.3",
        "replicas": 3,
        "labels": ["v1.2.3", 3, None, True],
        "nested": {"deep": ["staging"]},
    }


def test_people_text_is_not_rendered_twice() -> None:
    assert render_value("{{ pull_request.title }}", context()) == "Fix {{ 7 * 7 }}"
    assert render_value("t: {{ pull_request.title }}", context()) == "t: Fix {{ 7 * 7 }}"


@pytest.mark.parametrize(
    "template",
    [
        "{{ pull_request.number }}",
        "{{ pull_request.head.repo.owner.login }}",
        "{{ steps.build.outputs.image }}",
        "{{ nothing.at.all }}",
        "{{ release.version }}",
    ],
)
def test_undefined_chains_are_empty_not_errors(template: str) -> None:
    assert render_value(template, PUSH) is None
    assert render_value(f"[{template}]", PUSH) == "[]"


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "x {{ repo.__class__ }} y",
        "{{ vars.regions.append('x') }}",
        "{{ vars.update({'a': 1}) }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ ''.format.__globals__ }}",
        "{{ pull_request.number.__class__.__base__ }}",
        "{{ 'x' * 10000000000 }}",
        "{{ 10000000000 * vars.regions }}",
        "{{ 2 ** 100000000 }}",
        "{{ 10 ** 1000 ** 1000 }}",
    ],
)
def test_the_sandbox_refuses_escapes(template: str) -> None:
    with pytest.raises(TemplateError, match="sandbox") as failure:
        render_value(template, context())
    assert "Traceback" not in str(failure.value)


def test_the_sandbox_keeps_the_context_intact() -> None:
    ctx = context()
    with pytest.raises(TemplateError):
        render_value("{{ vars.regions.append('x') }}", ctx)
    assert ctx["vars"]["regions"] == ["eu", "us"]


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{{ vars.version ", "syntax error"),
        ("{% if x %}", "syntax error"),
        ("{{ nothing() }}", "undefined"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ vars.version | no_such_filter }}", "no_such_filter"),
        ("{{ vars.version.upper }}", "a function, not a value"),
        ("v: {{ ''.format }}", "a function, not a value"),
    ],
)
def test_errors_say_which_template_and_why(template: str, words: str) -> None:
    with pytest.raises(TemplateError, match=words) as failure:
        render_value({"key": [template]}, context())
    assert template[:20] in str(failure.value)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{{ pull_request.number == 7 }}", True),
        ("pull_request.number == 7", True),
        ("pull_request.number > 7", False),
        ("event.kind == 'push'", False),
        ("steps.tests.outputs.status == 'passed'", True),
        ("steps.tests.outputs.ok", True),
        ("pull_request.draft", False),
        ("pull_request", True),
        ("release", False),
        ("steps.nope.outputs.x", False),
        ("{{ 'false' }}", False),
        ("'FALSE'", False),
        ("'0'", False),
        ("''", False),
        ("' false '", False),
        ("'no thanks'", True),
        ("0", False),
        ("[]", False),
        ("{{ vars.version }}", True),
        ("{{ env.STAGE }}-{{ vars.version }}", True),
        ("{{ release.name }}", False),
        ("", False),
    ],
)
def test_conditions(expression: str, expected: bool) -> None:
    assert evaluate_condition(expression, context()) is expected


def test_condition_errors_are_template_errors() -> None:
    with pytest.raises(TemplateError, match="syntax error"):
        evaluate_condition("pull_request.number ==", context())
    with pytest.raises(TemplateError, match="sandbox"):
        evaluate_condition("''.__class__", context())


OUTPUTS = {"tests": {"summary": {"passed": 3}, "status": "ok"}, "build": {}}


def test_resolve_from_replaces_keys_keeping_types() -> None:
    config = {"body_from": "tests.summary", "marker": "ci", "state_from": "tests.status"}
    assert resolve_from(config, OUTPUTS) == {
        "body": {"passed": 3},
        "marker": "ci",
        "state": "ok",
    }


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"body_from": "lint.summary"}, "body_from: no step named 'lint'.*tests"),
        (
            {"body_from": "tests.coverage"},
            "body_from: step 'tests' has no output 'coverage'.*status",
        ),
        ({"body_from": "build.image"}, "it has: none"),
        ({"body_from": "tests"}, "<step>.<output>"),
        ({"body_from": 3}, "<step>.<output>"),
        ({"body": "x", "body_from": "tests.status"}, "either 'body' or 'body_from'"),
    ],
)
def test_resolve_from_errors_name_the_key(config: dict[str, Any], words: str) -> None:
    with pytest.raises(TemplateError, match=words):
        resolve_from(config, OUTPUTS)
