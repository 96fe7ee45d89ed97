"""The `chatops:` section: its defaults, what it accepts, and every problem with its line."""

from __future__ import annotations

import pytest

from app.chatops.config import CHATOPS, ChatopsConfig, chatops_of
from app.environments.config import environments_of
from app.features import REPO_CONFIG, parse_config
from app.repo_config import ConfigError

ENVIRONMENTS = (
    "environments:\n"
    "  staging: {targets: [web-1]}\n"
    "  production: {targets: [web-2], after: staging}\n"
)


def parse(chatops: str) -> ChatopsConfig:
    return chatops_of(parse_config(ENVIRONMENTS + chatops, step_types={}))


def problems(chatops: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(ENVIRONMENTS + chatops, step_types={})
    return caught.value.lines()


def test_absent_or_empty_it_is_every_default() -> None:
    assert chatops_of(parse_config(ENVIRONMENTS, step_types={})) == ChatopsConfig()
    assert parse("chatops:\n") == ChatopsConfig()
    defaults = ChatopsConfig()
    assert (defaults.prefix, defaults.default_environment, defaults.permissions) == ("/", None, {})
    assert (defaults.required_checks, defaults.lock_ttl, defaults.freeze_label) == (
        None,
        86400.0,
        None,
    )
    assert (defaults.unlock_on_close, defaults.branches) == (True, ())


def test_every_setting() -> None:
    config = parse(
        "chatops:\n"
        '  prefix: "@shipyard "\n'
        "  default_environment: staging\n"
        "  permissions: {deploy: triage, 'deploy:production': maintain, help: read}\n"
        "  required_checks: [build, 'test-*']\n"
        "  lock_ttl: 2h\n"
        "  freeze_label: deploy-freeze\n"
        "  unlock_on_close: false\n"
        "  branches: ['release/*', hotfix]\n"
    )
    assert config.prefix == "@shipyard "
    assert config.default_environment == "staging"
    assert config.permissions == {
        "deploy": "triage",
        "deploy:production": "maintain",
        "help": "read",
    }
    assert config.required_checks == ("build", "test-*")
    assert config.lock_ttl == 7200.0
    assert config.freeze_label == "deploy-freeze"
    assert config.unlock_on_close is False
    assert config.branches == ("release/*", "hotfix")


def test_no_required_checks_is_not_every_check() -> None:
    assert parse("chatops: {required_checks: []}\n").required_checks == ()


def test_the_section_declares_nothing_on_its_own() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("chatops: {prefix: '!'}\n", step_types={})
    assert caught.value.lines() == [
        ".shipyard.yml: declares nothing (no pipelines, releases or environments)"
    ]
    assert REPO_CONFIG.sections["chatops"] is CHATOPS


@pytest.mark.parametrize("prefix", ["/", "!", "@shipyard ", "shipyard ", ".", "/ship-"])
def test_good_prefixes(prefix: str) -> None:
    assert parse(f"chatops: {{prefix: {prefix!r}}}\n").prefix == prefix


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("''", "prefix '': 1 to 20 characters"),
        ("'/////////////////////'", "prefix '/////////////////////': 1 to 20 characters"),
        ('"/\\n"', "prefix '/\\n': one line of printable characters"),
        ('"/\\t"', "prefix '/\\t': one line of printable characters"),
        ("' /'", "prefix ' /' may not start with a space"),
        (
            "shipyard",
            "prefix 'shipyard': a prefix starting with a letter or digit ends with a space "
            "('shipyard '), or `shipyarddeploy` would be read in ordinary words",
        ),
    ],
)
def test_bad_prefixes(prefix: str, message: str) -> None:
    assert problems(f"chatops:\n  prefix: {prefix}\n") == [
        f".shipyard.yml:5: chatops.prefix: {message}"
    ]


def test_an_unknown_command_gets_a_did_you_mean() -> None:
    assert problems("chatops:\n  permissions:\n    deploy: write\n    rolback: maintain\n") == [
        ".shipyard.yml:7: chatops.permissions.rolback: unknown command 'rolback' "
        "(did you mean 'rollback'?)"
    ]


def test_an_unknown_command_without_a_close_match_lists_the_commands() -> None:
    assert problems("chatops: {permissions: {ship: write}}\n") == [
        ".shipyard.yml:4: chatops.permissions.ship: unknown command 'ship'; expected one of: "
        "deploy, noop, rollback, promote, approve, reject, confirm, cancel, lock, unlock, "
        "wcid, help"
    ]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("'deplyo:production'", "unknown command 'deplyo' (did you mean 'deploy'?)"),
        ("'help:production'", "help is for every environment: write 'help' alone"),
        (
            "'deploy:'",
            "'deploy:': write a command, or a command and an environment (deploy:production)",
        ),
        (
            "'deploy:prod uction'",
            "'deploy:prod uction': write a command, or a command and an environment "
            "(deploy:production)",
        ),
    ],
)
def test_bad_permission_keys(key: str, message: str) -> None:
    [problem] = problems(f"chatops:\n  permissions:\n    {key}: write\n")
    assert problem.startswith(".shipyard.yml:6: chatops.permissions")
    assert problem.endswith(f": {message}")


def test_an_unknown_role() -> None:
    [problem] = problems("chatops:\n  permissions:\n    deploy: owner\n")
    assert problem.startswith(".shipyard.yml:6: chatops.permissions.deploy: ")
    assert "'read', 'triage', 'write', 'maintain' or 'admin'" in problem


def test_environments_must_be_declared() -> None:
    text = (
        "chatops:\n"
        "  default_environment: stagin\n"
        "  permissions:\n"
        "    deploy: write\n"
        "    'rollback:prod': admin\n"
        "    'deploy:production': maintain\n"
    )
    assert problems(text) == [
        ".shipyard.yml:5: chatops.default_environment: unknown environment 'stagin' "
        "(staging, production)",
        ".shipyard.yml:8: chatops.permissions['rollback:prod']: unknown environment 'prod' "
        "(staging, production)",
    ]


def test_environments_must_be_declared_when_there_are_none() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("chatops: {default_environment: staging}\n", step_types={})
    assert caught.value.lines() == [
        ".shipyard.yml:1: chatops.default_environment: unknown environment 'staging' "
        "(none are declared under `environments:`)"
    ]


@pytest.mark.parametrize(
    ("lock_ttl", "message"),
    [
        ("31d", "lock_ttl is at most 30 days (30d)"),
        ("0", "duration 0 must be a finite time above zero"),
        (
            "soon",
            "invalid duration 'soon': use seconds (90) or a number with units, like 90s, "
            "30m, 1h or 1h30m",
        ),
    ],
)
def test_bad_lock_ttl(lock_ttl: str, message: str) -> None:
    assert problems(f"chatops:\n  lock_ttl: {lock_ttl}\n") == [
        f".shipyard.yml:5: chatops.lock_ttl: {message}"
    ]


def test_lock_ttl_may_be_thirty_days() -> None:
    assert parse("chatops: {lock_ttl: 30d}\n").lock_ttl == 30 * 86400.0


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("freeze_label: ''", "'' is not a label: one line, not empty"),
        ("freeze_label: 'freeze, now'", "a label with a comma cannot be asked for alone"),
        ("freeze_label: Any", "GitLab reads None and Any as no label and any label"),
        ("branches: ['']", "string should have at least 1 character (got '')"),
        ("required_checks: [ci, '']", "string should have at least 1 character (got '')"),
        ("unlock_on_close: maybe", "expected true or false (got 'maybe')"),
        (
            "colour: blue",
            "unknown key 'colour'; expected one of: prefix, default_environment, permissions, "
            "required_checks, lock_ttl, freeze_label, unlock_on_close, branches",
        ),
        ("prefx: '!'", "unknown key 'prefx' (did you mean 'prefix'?)"),
    ],
)
def test_other_bad_settings(setting: str, message: str) -> None:
    [problem] = problems(f"chatops:\n  {setting}\n")
    assert problem.startswith(".shipyard.yml:5: chatops.")
    assert problem.endswith(f": {message}")


def test_the_new_environment_settings_default_to_what_was() -> None:
    spec = environments_of(parse_config(ENVIRONMENTS, step_types={}))["production"]
    assert (spec.reviews, spec.outdated, spec.confirm) == ("optional", "warn", False)
    assert (spec.confirm_timeout, spec.freeze, spec.drafts) == (600.0, (), False)


def test_the_new_environment_settings() -> None:
    text = (
        "environments:\n"
        "  production:\n"
        "    targets: [web-2]\n"
        "    reviews: required\n"
        "    outdated: strict\n"
        "    confirm: true\n"
        "    confirm_timeout: 2m\n"
        "    drafts: true\n"
    )
    spec = environments_of(parse_config(text, step_types={}))["production"]
    assert (spec.reviews, spec.outdated, spec.confirm) == ("required", "strict", True)
    assert (spec.confirm_timeout, spec.drafts) == (120.0, True)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("reviews: always", "reviews: should be 'required' or 'optional' (got 'always')"),
        (
            "outdated: lax",
            "outdated: should be 'strict', 'warn' or 'off' (got 'lax')",
        ),
        ("confirm_timeout: 0", "confirm_timeout: duration 0 must be a finite time above zero"),
    ],
)
def test_bad_environment_settings(setting: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"environments:\n  production:\n    targets: [w]\n    {setting}\n")
    assert caught.value.lines() == [f".shipyard.yml:4: environments.production.{message}"]
