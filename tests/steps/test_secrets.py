"""Secret references: env:// resolves, vault:// is not built yet, literal secrets are refused."""

from __future__ import annotations

import pytest

from app.secrets import (
    SecretError,
    check_reference,
    extend_mask,
    is_reference,
    redact,
    resolve_secret,
)


def test_env_reference_reads_the_given_environment() -> None:
    assert resolve_secret("env://SLACK_URL", {"SLACK_URL": "https://hooks.example/T/B/x"}) == (
        "https://hooks.example/T/B/x"
    )


def test_env_reference_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPYARD_TEST_SECRET", "s3cr3t")
    assert resolve_secret("env://SHIPYARD_TEST_SECRET") == "s3cr3t"


def test_unset_variable_is_named_in_the_error() -> None:
    with pytest.raises(SecretError, match=r"environment variable MISSING_ONE is not set"):
        resolve_secret("env://MISSING_ONE", {})


def test_empty_variable_is_an_error_not_an_empty_secret() -> None:
    with pytest.raises(SecretError, match="EMPTY_ONE is empty"):
        resolve_secret("env://EMPTY_ONE", {"EMPTY_ONE": ""})


@pytest.mark.parametrize("ref", ["env://", "env://1ABC", "env://A-B", "env://A B"])
def test_env_reference_needs_a_variable_name(ref: str) -> None:
    with pytest.raises(SecretError, match="environment variable name"):
        resolve_secret(ref, {"A-B": "x", "1ABC": "x"})


def test_vault_reference_says_it_is_not_built_yet() -> None:
    with pytest.raises(SecretError, match=r"Vault integration.*not have yet.*env://NAME"):
        resolve_secret("vault://prod-vault/shipyard/slack#url", {})


@pytest.mark.parametrize(
    "literal",
    ["hunter2-literal-token", "https://hooks.slack.com/services/T0/B0/literalsecret", ""],
)
def test_literal_secrets_are_refused_without_repeating_them(literal: str) -> None:
    with pytest.raises(SecretError) as caught:
        resolve_secret(literal, {})
    message = str(caught.value)
    assert "env://NAME" in message
    assert "vault://" in message
    if literal:
        assert literal not in message


def test_secret_error_is_a_value_error() -> None:
    assert issubclass(SecretError, ValueError)


def test_check_reference_validates_the_form_without_reading() -> None:
    check_reference("env://NOT_SET_ANYWHERE")
    check_reference("vault://store/path#key")
    with pytest.raises(SecretError):
        check_reference("plain-value")
    with pytest.raises(SecretError):
        check_reference("env://not a name")


def test_is_reference() -> None:
    assert is_reference("env://X")
    assert is_reference("vault://a/b#c")
    assert not is_reference("https://example.com")


def test_redact_replaces_every_secret_longest_first() -> None:
    assert redact("key abc and abcdef", ["abc", "abcdef", ""]) == "key *** and ***"
    assert redact("nothing here", []) == "nothing here"


class LearningMask:
    """A mask that, like the engine's Masker, can be taught secrets."""

    def __init__(self) -> None:
        self.known: list[str] = []

    def add(self, secret: str) -> None:
        self.known.append(secret)

    def __call__(self, text: str) -> str:
        return redact(text, self.known)


def test_extend_mask_hides_new_secrets_and_what_the_mask_already_hid() -> None:
    mask = extend_mask(lambda text: text.replace("old", "***"), ["new-secret", ""])
    assert mask("old and new-secret") == "*** and ***"


def test_extend_mask_teaches_a_mask_that_can_learn() -> None:
    learner = LearningMask()
    extend_mask(learner, ["tok-123", ""])
    assert learner.known == ["tok-123"]
    assert learner("a tok-123 b") == "a *** b"
