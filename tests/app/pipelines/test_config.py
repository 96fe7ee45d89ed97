"""`.shipyard.yml` parsing: the models it gives, and every problem with its exact line and path."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest

from app.chatops.config import ChatopsConfig
from app.features import REPO_CONFIG, check_config_file, parse_config
from app.pipelines.config import (
    CommentTrigger,
    PipelineTrigger,
    PullRequestTrigger,
    PushTrigger,
    ReleaseTrigger,
    TagTrigger,
    Triggers,
    pipelines_of,
)
from app.repo_config import ConfigError, ConfigProblem, RepoConfig
from steps import registry
from steps.base import StepConfig, StepContext, StepType
from steps.config_types import parse_duration


class RunCommandConfig(StepConfig):
    command: str
    timeout: int = 60
    shell: bool = False


class Strategy(StepConfig):
    batch_size: int = 1


class DeployConfig(StepConfig):
    targets: list[str]
    strategy: Strategy = Strategy()


class PostCommentConfig(StepConfig):
    body: str
    marker: str = "shipyard"


class RunCommand:
    type_name: ClassVar[str] = "run_command"
    Config: ClassVar[type[StepConfig]] = RunCommandConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        return {}


class Deploy:
    type_name: ClassVar[str] = "deploy"
    Config: ClassVar[type[StepConfig]] = DeployConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        return {}


class PostComment:
    type_name: ClassVar[str] = "post_comment"
    Config: ClassVar[type[StepConfig]] = PostCommentConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        return {}


STEP_TYPES: dict[str, StepType] = {
    step.type_name: step for step in (RunCommand(), Deploy(), PostComment())
}


def doc(text: str) -> str:
    """The YAML as written in the test, its first line being line 1."""
    return textwrap.dedent(text).lstrip("\n")


def parse(text: str) -> RepoConfig:
    return parse_config(doc(text), step_types=STEP_TYPES)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value.lines()


FULL = """
pipelines:
  review:
    on:
      pull_request: [opened, synchronize]
      comment: {commands: ["/review"]}
      manual: true
    concurrency: "pr-{{ pull_request.number }}"
    env: {PORT: 8080, DEBUG: true, TITLE: "{{ pull_request.title }}"}
    vars: {suites: [unit, e2e]}
    steps:
      - name: lint
        type: run_command
        config: {command: make lint}
      - name: tests
        type: run_command
        config: {command: make test, timeout: "{{ vars.timeout }}"}
        if: "{{ event.action == 'opened' }}"
        timeout: 1h30m
        retries: 2
        continue_on_error: true
        env: {SUITE: unit}
      - name: report
        type: post_comment
        needs: [lint, tests]
        config: {marker: ci, body: "Tests: {{ steps.tests.outputs.status }}"}
      - name: audit
        type: run_command
        needs: []
        config: {command: make audit}
  release:
    on:
      push: {branches: [main, "release/*"]}
      tag: ["v*"]
    concurrency: {group: release, cancel_in_progress: false}
    status_context: ci/release
    steps:
      - name: deploy
        type: deploy
        config: {targets: [web-1, web-2], strategy: {batch_size: 2}}
releases: {from: [{tag: "v*"}]}
environments: {staging: {targets: [web-1], auto_deploy: true}}
chatops: {prefix: "/"}
"""


def test_full_example() -> None:
    config = parse(FULL)

    assert list(pipelines_of(config)) == ["review", "release"]
    review = pipelines_of(config)["review"]
    assert review.on.pull_request == PullRequestTrigger(actions=("opened", "synchronize"))
    assert review.on.comment is not None
    assert review.on.comment.commands == ("/review",)
    assert (review.on.manual, review.on.push, review.on.tag) == (True, None, None)
    assert review.concurrency is not None
    assert review.concurrency.group == "pr-{{ pull_request.number }}"
    assert review.concurrency.cancel_in_progress is True
    assert review.env == {"PORT": "8080", "DEBUG": "true", "TITLE": "{{ pull_request.title }}"}
    assert review.vars == {"suites": ["unit", "e2e"]}
    assert review.status_context == "shipyard/review"

    lint, tests, report, audit = review.steps
    assert (lint.name, lint.type, lint.config, lint.needs) == (
        "lint",
        "run_command",
        {"command": "make lint"},
        [],
    )
    assert (lint.if_, lint.timeout_seconds, lint.retries, lint.continue_on_error) == (
        None,
        None,
        0,
        False,
    )
    assert tests.needs == ["lint"]  # absent: the step before
    assert tests.config == {"command": "make test", "timeout": "{{ vars.timeout }}"}  # raw
    assert tests.if_ == "{{ event.action == 'opened' }}"
    assert (tests.timeout_seconds, tests.retries, tests.continue_on_error) == (5400.0, 2, True)
    assert tests.env == {"SUITE": "unit"}
    assert report.needs == ["lint", "tests"]
    assert audit.needs == []  # explicitly none

    release = pipelines_of(config)["release"]
    assert release.on.push is not None
    assert release.on.push.branches == ("main", "release/*")
    assert release.on.tag is not None
    assert release.on.tag.tags == ("v*",)
    assert release.on.pull_request is None
    assert release.concurrency is not None
    assert release.concurrency.cancel_in_progress is False
    assert release.status_context == "ci/release"
    assert release.steps[0].config == {"targets": ["web-1", "web-2"], "strategy": {"batch_size": 2}}

    sections = REPO_CONFIG.sections
    [rule] = sections["releases"].of(config).from_
    assert rule.tag is not None
    assert rule.tag.tags == ("v*",)  # one glob is a list of one
    [(name, staging)] = sections["environments"].of(config).items()
    assert (name, staging.targets, staging.auto_deploy) == ("staging", ("web-1",), True)
    assert sections["chatops"].of(config) == ChatopsConfig()


def test_models_are_frozen() -> None:
    config = parse(FULL)
    with pytest.raises(ValueError, match="frozen"):
        pipelines_of(config)["review"].steps[0].retries = 3  # type: ignore[misc]


def test_a_file_with_other_sections_and_no_pipelines_is_valid() -> None:
    text = "releases: {from: [{tag: 'v*'}]}\nenvironments:\nchatops: {prefix: '!'}\n"
    assert pipelines_of(parse_config(text, step_types=STEP_TYPES)) == {}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing here yet\n",
        "pipelines:\n",
        "pipelines: {}\n",
        "x-defaults: &defaults {type: run_command}\n",  # x- keys: a place for anchors
    ],
)
def test_a_file_that_declares_nothing_says_so(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, step_types=STEP_TYPES)
    assert caught.value.lines() == [
        ".shipyard.yml: declares nothing (no pipelines, releases or environments)"
    ]


STEP = "steps: [{name: s, type: run_command, config: {command: x}}]"


DEFAULT_PR = PullRequestTrigger(actions=("opened", "synchronize", "reopened"))


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("pull_request", Triggers(pull_request=DEFAULT_PR)),
        ("{pull_request: }", Triggers(pull_request=DEFAULT_PR)),
        ("{pull_request: true}", Triggers(pull_request=DEFAULT_PR)),
        (
            "{pull_request: [closed]}",
            Triggers(pull_request=PullRequestTrigger(actions=("closed",))),
        ),
        (
            "{pull_request: {actions: [merged], branches: [main]}}",
            Triggers(pull_request=PullRequestTrigger(actions=("merged",), branches=("main",))),
        ),
        ("[push, tag]", Triggers(push=PushTrigger(branches=None), tag=TagTrigger(tags=None))),
        ("{push: true, tag: false}", Triggers(push=PushTrigger())),
        ("{push: [main]}", Triggers(push=PushTrigger(branches=("main",)))),
        ("{push: {branches: [main]}}", Triggers(push=PushTrigger(branches=("main",)))),
        ("{tag: 'v*'}", Triggers(tag=TagTrigger(tags=("v*",)))),
        ("{tag: {tags: ['v*']}}", Triggers(tag=TagTrigger(tags=("v*",)))),
        ("{comment: [/review]}", Triggers(comment=CommentTrigger(commands=("/review",)))),
        (
            "{comment: {commands: [/a, /b]}}",
            Triggers(comment=CommentTrigger(commands=("/a", "/b"))),
        ),
        ("{release: true}", Triggers(release=ReleaseTrigger(actions=("published",)))),
        ("{release: [prereleased]}", Triggers(release=ReleaseTrigger(actions=("prereleased",)))),
        (
            "{pipeline: true}",
            Triggers(pipeline=PipelineTrigger(status=("success", "failed", "cancelled"))),
        ),
        (
            "{pipeline: {status: [failed], branches: [main]}}",
            Triggers(pipeline=PipelineTrigger(status=("failed",), branches=("main",))),
        ),
        ("{manual: true}", Triggers(manual=True)),
        ("{manual: }", Triggers(manual=True)),
    ],
)
def test_trigger_shorthands(on: str, expected: Triggers) -> None:
    config = parse(f"pipelines:\n  p:\n    on: {on}\n    {STEP}\n")
    assert pipelines_of(config)["p"].on == expected


def test_on_is_a_key_not_a_yaml_1_1_boolean() -> None:
    """YAML 1.1 reads `on`/`yes`/`no` as booleans; Shipyard reads YAML 1.2's true/false only."""
    config = parse(f"pipelines:\n  p:\n    on: {{push: true}}\n    vars: {{x: yes}}\n    {STEP}\n")
    assert pipelines_of(config)["p"].on.push is not None
    assert pipelines_of(config)["p"].vars == {"x": "yes"}


# --- problems, each with its exact line and path ---------------------------------------------


def test_unknown_step_type_with_a_suggestion() -> None:
    assert problems(
        """
        pipelines:
          review:
            on: pull_request
            steps:
              - name: lint
                type: run_command
                config: {command: make lint}
              - name: tests
                type: run_comand
                config: {command: make test}
        """
    ) == [
        ".shipyard.yml:9: pipelines.review.steps[1].type: "
        "unknown step type 'run_comand' (did you mean 'run_command'?)"
    ]


def test_unknown_step_type_without_a_close_match_lists_the_known_ones() -> None:
    assert problems(
        """
        pipelines:
          p:
            on: push
            steps: [{name: a, type: teleport}]
        """
    ) == [
        ".shipyard.yml:4: pipelines.p.steps[0].type: unknown step type 'teleport'; "
        "expected one of: deploy, post_comment, run_command"
    ]


def test_unknown_keys_at_every_level() -> None:
    assert problems(
        """
        pipeline: {}
        pipelines:
          review:
            on:
              push: {branch: [main]}
              pul_request: true
            stpes: []
            steps:
              - name: lint
                type: run_command
                need: []
                config:
                  command: make lint
                  shel: true
              - name: ship
                type: deploy
                config: {targets: [web], strategy: {batch_sise: 2}}
        """
    ) == [
        ".shipyard.yml:1: pipeline: unknown key 'pipeline' (did you mean 'pipelines'?)",
        ".shipyard.yml:5: pipelines.review.on.push.branch: "
        "unknown key 'branch' (did you mean 'branches'?)",
        ".shipyard.yml:6: pipelines.review.on.pul_request: "
        "unknown key 'pul_request' (did you mean 'pull_request'?)",
        ".shipyard.yml:7: pipelines.review.stpes: unknown key 'stpes' (did you mean 'steps'?)",
        ".shipyard.yml:11: pipelines.review.steps[0].need: "
        "unknown key 'need' (did you mean 'needs'?)",
        ".shipyard.yml:14: pipelines.review.steps[0].config.shel: "
        "unknown key 'shel' (did you mean 'shell'?)",
        ".shipyard.yml:17: pipelines.review.steps[1].config.strategy.batch_sise: "
        "unknown key 'batch_sise' (did you mean 'batch_size'?)",
    ]


def test_unknown_key_without_a_close_match_lists_the_keys() -> None:
    assert problems("colour: blue\n") == [
        ".shipyard.yml:1: colour: unknown key 'colour'; "
        "expected one of: pipelines, components, releases, environments, chatops, pull_requests"
    ]


def test_unknown_trigger_in_the_list_form_points_at_its_item() -> None:
    assert problems(
        f"""
        pipelines:
          p:
            on: [push, pull_requets]
            {STEP}
        """
    ) == [
        ".shipyard.yml:3: pipelines.p.on[1]: "
        "unknown key 'pull_requets' (did you mean 'pull_request'?)"
    ]


def test_wrong_types() -> None:
    assert problems(
        """
        pipelines:
          p:
            on:
              push: 5
              manual: yes
            env: [A, B]
            steps:
              - name: a
                type: run_command
                config:
                  command: [make, test]
                  timeout: soon
                retries: many
                continue_on_error: "no"
        """
    ) == [
        ".shipyard.yml:4: pipelines.p.on.push: expected a mapping (got 5)",
        ".shipyard.yml:5: pipelines.p.on.manual: expected true or false (got 'yes')",
        ".shipyard.yml:6: pipelines.p.env: expected a mapping (got a list)",
        ".shipyard.yml:11: pipelines.p.steps[0].config.command: expected a string (got a list)",
        ".shipyard.yml:12: pipelines.p.steps[0].config.timeout: "
        "expected a whole number (got 'soon')",
        ".shipyard.yml:13: pipelines.p.steps[0].retries: expected a whole number (got 'many')",
        ".shipyard.yml:14: pipelines.p.steps[0].continue_on_error: "
        "expected true or false (got 'no')",
    ]


def test_out_of_range_and_unknown_words() -> None:
    assert problems(
        """
        pipelines:
          p:
            on:
              pull_request: [opened, synchronized]
              release: [publish]
              pipeline: {status: [failure]}
            steps:
              - {name: a, type: run_command, config: {command: x}, retries: 11}
        """
    ) == [
        ".shipyard.yml:4: pipelines.p.on.pull_request[1]: "
        "unknown pull_request action 'synchronized' (did you mean 'synchronize'?)",
        ".shipyard.yml:5: pipelines.p.on.release[0]: "
        "unknown release action 'publish' (did you mean 'published'?)",
        ".shipyard.yml:6: pipelines.p.on.pipeline.status[0]: "
        "unknown pipeline status 'failure' (did you mean 'failed'?)",
        ".shipyard.yml:8: pipelines.p.steps[0].retries: "
        "should be less than or equal to 10 (got 11)",
    ]


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        (
            "5x",
            "invalid duration '5x': use seconds (90) or a number with units, "
            "like 90s, 30m, 1h or 1h30m",
        ),
        ("0", "duration 0 must be a finite time above zero"),
        ("-30", "duration -30 must be a finite time above zero"),
        (
            "1m1h",
            "invalid duration '1m1h': use seconds (90) or a number with units, "
            "like 90s, 30m, 1h or 1h30m",
        ),
    ],
)
def test_bad_duration(timeout: str, message: str) -> None:
    assert problems(
        f"""
        pipelines:
          p:
            on: push
            steps:
              - name: a
                type: run_command
                config: {{command: x}}
                timeout: {timeout}
        """
    ) == [f".shipyard.yml:8: pipelines.p.steps[0].timeout: {message}"]


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        (90, 90.0),
        ("90", 90.0),
        ("90s", 90.0),
        ("30m", 1800.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("2d", 172800.0),
        ("1.5h", 5400.0),
        (0.5, 0.5),
    ],
)
def test_durations(written: object, seconds: float) -> None:
    assert parse_duration(written) == seconds


@pytest.mark.parametrize("bad", ["", "h", "5x", "1.2.3", "inf", "-5", True, None, [], 0, -1.0])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_missing_required_keys_are_reported_at_their_mapping() -> None:
    assert problems(
        """
        pipelines:
          review:
            on: push
          deploy:
            steps:
              - name: a
                type: run_command
                config:
                  timeout: 5
              - name: b
                type: run_command
              - type: run_command
                config: {command: x}
        """
    ) == [
        ".shipyard.yml:2: pipelines.review.steps: required key is missing",
        ".shipyard.yml:4: pipelines.deploy.on: required key is missing",
        ".shipyard.yml:8: pipelines.deploy.steps[0].config.command: required key is missing",
        ".shipyard.yml:10: pipelines.deploy.steps[1].config.command: required key is missing",
        ".shipyard.yml:12: pipelines.deploy.steps[2].name: required key is missing",
    ]


def test_no_steps_and_no_triggers() -> None:
    assert problems(
        """
        pipelines:
          p:
            on: {}
            steps: []
        """
    ) == [
        ".shipyard.yml:3: pipelines.p.on: at least one trigger is required: "
        "pull_request, push, tag, comment, release, pipeline, manual",
        ".shipyard.yml:4: pipelines.p.steps: at least one step is required",
    ]


def test_needs_naming_a_missing_step_or_itself() -> None:
    assert problems(
        """
        pipelines:
          p:
            on: push
            steps:
              - {name: lint, type: run_command, config: {command: x}}
              - {name: tests, type: run_command, config: {command: x}, needs: [lnt, tests]}
        """
    ) == [
        ".shipyard.yml:6: pipelines.p.steps[1].needs[0]: "
        "no step named 'lnt' in this pipeline (did you mean 'lint'?)",
        ".shipyard.yml:6: pipelines.p.steps[1].needs[1]: a step cannot need itself",
    ]


def test_a_cycle_through_explicit_and_implicit_needs() -> None:
    # a needs c; b needs a (the step before); c needs b (the step before)
    assert problems(
        """
        pipelines:
          p:
            on: push
            steps:
              - name: a
                type: run_command
                config: {command: x}
                needs: [c]
              - {name: b, type: run_command, config: {command: x}}
              - {name: c, type: run_command, config: {command: x}}
        """
    ) == [
        ".shipyard.yml:8: pipelines.p.steps[0].needs: "
        "steps need each other in a cycle: a -> c -> b -> a"
    ]


def test_duplicate_step_names() -> None:
    assert problems(
        """
        pipelines:
          p:
            on: push
            steps:
              - {name: tests, type: run_command, config: {command: x}}
              - {name: lint, type: run_command, config: {command: x}}
              - name: tests
                type: run_command
                config: {command: y}
        """
    ) == [".shipyard.yml:7: pipelines.p.steps[2].name: duplicate step name 'tests' (also steps[0])"]


def test_names_are_restricted() -> None:
    assert problems(
        """
        pipelines:
          "code review":
            on: push
            steps:
              - {name: "run tests", type: run_command, config: {command: x}}
            env: {"MY-VAR": x}
        """
    ) == [
        ".shipyard.yml:2: pipelines['code review']: "
        "pipeline name 'code review' may only use letters, digits, '-' and '_'",
        ".shipyard.yml:5: pipelines['code review'].steps[0].name: "
        "step name 'run tests' may only use letters, digits, '-' and '_'",
        ".shipyard.yml:6: pipelines['code review'].env.MY-VAR: "
        "environment variable name 'MY-VAR' may only use letters, digits and '_'",
    ]


def test_duplicate_yaml_keys_are_problems() -> None:
    assert problems(
        f"""
        pipelines:
          review:
            on: push
            {STEP}
          review:
            on: tag
            {STEP}
        """
    ) == [
        ".shipyard.yml:5: pipelines.review: "
        "duplicate key 'review' (also at line 2; only one is used)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pipelines:\n  p:\n    on: push\n    steps:\n      - name: a\n     type: b\n",
            ".shipyard.yml:6: invalid YAML: expected <block end>, but found '<block mapping start>'"
            " (while parsing a block mapping at line 3)",
        ),
        (
            "pipelines:\n  p:\n    on: push: x\n",
            ".shipyard.yml:3: invalid YAML: mapping values are not allowed here",
        ),
        (
            "pipelines: {p: [a, b}\n",
            ".shipyard.yml:1: invalid YAML: expected ',' or ']', but got '}'"
            " (while parsing a flow sequence at line 1)",
        ),
        (
            "a: 1\n---\nb: 2\n",
            ".shipyard.yml:2: invalid YAML: but found another document"
            " (expected a single document in the stream at line 1)",
        ),
        (
            "- a\n- b\n",
            ".shipyard.yml:1: the file must be a mapping of keys such as `pipelines:`, not a list",
        ),
    ],
)
def test_invalid_yaml_gives_its_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, step_types=STEP_TYPES)
    assert str(caught.value) == expected


def test_templates_are_accepted_where_a_scalar_is_expected() -> None:
    config = parse(
        """
        pipelines:
          p:
            on: push
            steps:
              - name: a
                type: run_command
                config: {command: x, timeout: "{{ vars.timeout }}", shell: "{{ vars.shell }}"}
              - name: b
                type: deploy
                config: {targets: "{{ vars.targets }}", strategy: {batch_size: "{{ vars.n }}"}}
        """
    )
    assert pipelines_of(config)["p"].steps[0].config["timeout"] == "{{ vars.timeout }}"


def test_templates_do_not_excuse_unknown_keys_or_syntax_errors() -> None:
    assert problems(
        """
        pipelines:
          p:
            on: push
            concurrency: "pr-{{ pull_request.number"
            steps:
              - name: a
                type: run_command
                config: {command: "{{ oops", timeuot: "{{ vars.t }}"}
                if: "event.action =="
                env: {X: "{% if %}"}
        """
    ) == [
        ".shipyard.yml:4: pipelines.p.concurrency.group: template syntax error: "
        "unexpected end of template, expected 'end of print statement'",
        ".shipyard.yml:8: pipelines.p.steps[0].config.command: template syntax error: "
        "unexpected end of template, expected 'end of print statement'",
        ".shipyard.yml:8: pipelines.p.steps[0].config.timeuot: "
        "unknown key 'timeuot' (did you mean 'timeout'?)",
        ".shipyard.yml:9: pipelines.p.steps[0].if: "
        "template syntax error: unexpected 'end of print statement'",
        ".shipyard.yml:10: pipelines.p.steps[0].env.X: "
        "template syntax error: Expected an expression, got 'end of statement block'",
    ]


def test_if_accepts_a_bare_expression_or_a_boolean() -> None:
    config = parse(
        """
        pipelines:
          p:
            on: push
            steps:
              - {name: a, type: run_command, config: {command: x}, if: "event.action == 'opened'"}
              - {name: b, type: run_command, config: {command: x}, if: false}
        """
    )
    assert [step.if_ for step in pipelines_of(config)["p"].steps] == [
        "event.action == 'opened'",
        "false",
    ]


def test_from_keys_stand_for_their_key_and_must_name_an_earlier_step() -> None:
    config = parse(
        """
        pipelines:
          p:
            on: push
            steps:
              - {name: ai, type: run_command, config: {command: review}}
              - {name: post, type: post_comment, config: {body_from: ai.answer}}
        """
    )
    assert pipelines_of(config)["p"].steps[1].config == {"body_from": "ai.answer"}
    assert problems(
        """
        pipelines:
          p:
            on: push
            steps:
              - {name: ai, type: run_command, config: {command: review}, needs: []}
              - {name: post, type: post_comment, config: {body_from: later.answer}}
              - {name: later, type: run_command, config: {command: x}, needs: []}
              - {name: both, type: post_comment, config: {body: x, body_from: ai.answer}}
              - {name: bad, type: post_comment, config: {body_from: answer}}
              - {name: ghost, type: post_comment, config: {body_from: ia.answer}, needs: [ai]}
        """
    ) == [
        ".shipyard.yml:8: pipelines.p.steps[3].config.body_from: "
        "give either 'body' or 'body_from', not both",
        ".shipyard.yml:9: pipelines.p.steps[4].config.body_from: "
        'expected "<step>.<output>", like "tests.status" (got \'answer\')',
    ]
    assert problems(
        """
        pipelines:
          p:
            on: push
            steps:
              - {name: ai, type: run_command, config: {command: review}, needs: []}
              - {name: post, type: post_comment, config: {body_from: later.answer}}
              - {name: later, type: run_command, config: {command: x}, needs: []}
              - {name: ghost, type: post_comment, config: {body_from: ais.answer}, needs: [ai]}
        """
    ) == [
        ".shipyard.yml:6: pipelines.p.steps[1].config.body_from: "
        "step 'later' does not run before 'post': add 'later' to the needs of 'post'",
        ".shipyard.yml:8: pipelines.p.steps[3].config.body_from: "
        "no step named 'ais' (did you mean 'ai'?)",
    ]


def test_anchors_and_merge_keys_keep_their_lines() -> None:
    assert problems(
        """
        x-step: &step
          type: run_command
          config: {command: x}
        pipelines:
          p:
            on: push
            steps:
              - <<: *step
                name: a
                retries: -1
        """
    ) == [
        ".shipyard.yml:10: pipelines.p.steps[0].retries: "
        "should be greater than or equal to 0 (got -1)"
    ]


# --- the error itself --------------------------------------------------------------------------


def test_config_error_carries_problems_and_formats_one_per_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            "pipelines:\n  p:\n    on: push\n    steps: [{name: a, type: nope}]\ncolour: x\n",
            filename="repo/.shipyard.yml",
            step_types=STEP_TYPES,
        )
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.problems == [
        ConfigProblem(
            4,
            "pipelines.p.steps[0].type",
            "unknown step type 'nope'; expected one of: deploy, post_comment, run_command",
        ),
        ConfigProblem(
            5,
            "colour",
            "unknown key 'colour'; "
            "expected one of: pipelines, components, releases, environments, chatops, "
            "pull_requests",
        ),
    ]
    assert str(error).splitlines() == [
        "repo/.shipyard.yml:4: pipelines.p.steps[0].type: unknown step type 'nope'; "
        "expected one of: deploy, post_comment, run_command",
        "repo/.shipyard.yml:5: colour: unknown key 'colour'; "
        "expected one of: pipelines, components, releases, environments, chatops, pull_requests",
    ]


def test_summary_fits_a_commit_status() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(
            """
            pipelines:
              p:
                on: push
                steps:
                  - {name: a, type: run_comand}
                  - {name: b, type: run_comand}
            """
        )
    summary = caught.value.summary
    assert summary == (
        ".shipyard.yml:5: pipelines.p.steps[0].type: "
        "unknown step type 'run_comand' (did you mean 'run_command'?) (+1 more)"
    )
    long = ConfigError([ConfigProblem(3, "pipelines.p", "x" * 300), ConfigProblem(4, "a", "b")])
    assert len(long.summary) == 140
    assert long.summary.startswith(".shipyard.yml:3: pipelines.p: xxx")
    assert long.summary.endswith("x… (+1 more)")


def test_step_types_default_to_the_registry_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "pipelines:\n  p:\n    on: push\n    steps: [{name: a, type: run_command}]\n"
    monkeypatch.setattr(registry, "STEP_TYPES", {})
    with pytest.raises(ConfigError, match=r"unknown step type 'run_command' \(no step types"):
        parse_config(text)
    monkeypatch.setattr(registry, "STEP_TYPES", STEP_TYPES)
    with pytest.raises(ConfigError, match=r"config.command: required key is missing"):
        parse_config(text)


def test_check_config_file(tmp_path: Path) -> None:
    missing = tmp_path / ".shipyard.yml"
    assert check_config_file(missing, step_types=STEP_TYPES) == [
        f"{missing}: no such file (Shipyard reads .shipyard.yml at the repository root)"
    ]
    missing.write_text(doc(FULL))
    assert check_config_file(missing, step_types=STEP_TYPES) == []
    missing.write_text("pipelines:\n  p:\n    on: push\n    steps: [{name: a, type: nope}]\n")
    assert check_config_file(missing, step_types=STEP_TYPES) == [
        f"{missing}:4: pipelines.p.steps[0].type: unknown step type 'nope'; "
        "expected one of: deploy, post_comment, run_command"
    ]
    missing.write_bytes(b"pipelines: \xff\n")
    assert check_config_file(missing, step_types=STEP_TYPES) == [
        f"{missing}: not UTF-8 text (byte 11)"
    ]
