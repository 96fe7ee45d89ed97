"""Secret references parsed (pure): each form, what a repository's config may write, and
errors that never repeat a value."""

from __future__ import annotations

import pytest

from steps.secret_refs import SecretError, SecretRef, check_reference, is_reference, parse_reference


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("secret://SLACK_WEBHOOK", SecretRef("secret", name="SLACK_WEBHOOK")),
        ("env://DEPLOY_KEY", SecretRef("env", name="DEPLOY_KEY")),
        ("file:///etc/shipyard/key.pem", SecretRef("file", path="/etc/shipyard/key.pem")),
        (
            "vault://prod-vault/shipyard/slack#webhook_url",
            SecretRef("vault", path="shipyard/slack", integration="prod-vault", key="webhook_url"),
        ),
    ],
)
def test_each_form_parses_and_prints_back(text: str, ref: SecretRef) -> None:
    assert parse_reference(text) == ref
    assert str(ref) == text


@pytest.mark.parametrize(
    "text", ["vault://prod-vault/path", "vault:///path#key", "vault://v/#key", "file://relative"]
)
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(SecretError):
        parse_reference(text)


def test_check_reference_validates_the_form_without_reading() -> None:
    check_reference("secret://NOT_DEFINED_ANYWHERE")
    with pytest.raises(SecretError):
        check_reference("plain-value")
    with pytest.raises(SecretError):
        check_reference("secret://not a name")


@pytest.mark.parametrize(
    "server_side", ["env://GITHUB_TOKEN", "file:///proc/self/environ", "vault://v/p#k"]
)
def test_a_repositorys_config_names_only_granted_secrets(server_side: str) -> None:
    with pytest.raises(SecretError, match=r"for the server's own secret definitions.*secret://"):
        check_reference(server_side)


def test_is_reference() -> None:
    assert is_reference("env://X")
    assert is_reference("vault://a/b#c")
    assert is_reference("secret://X")
    assert not is_reference("https://example.com")
