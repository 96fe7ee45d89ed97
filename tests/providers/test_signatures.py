"""Signature checks per host, pure: published vectors, tampering, missing headers."""

from __future__ import annotations

import pytest

from providers.webhooks import WEBHOOKS, BadSignature, verify_github, verify_token
from tests.support.deliveries import gitea_signature

# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_published_vector_verifies() -> None:
    verify_github({"x-hub-signature-256": GITHUB_SIGNATURE}, GITHUB_BODY, GITHUB_SECRET)


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"x-hub-signature-256": GITHUB_SIGNATURE}, b"Hello, World?", "does not match"),
        ({"x-hub-signature-256": GITHUB_SIGNATURE[:-1] + "0"}, GITHUB_BODY, "does not match"),
        ({}, GITHUB_BODY, "missing X-Hub-Signature-256"),
        ({"x-hub-signature-256": ""}, GITHUB_BODY, "missing X-Hub-Signature-256"),
        (
            {"x-hub-signature-256": "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"},
            GITHUB_BODY,
            "must start with 'sha256='",
        ),
        ({"x-hub-signature-256": "sha256=zz"}, GITHUB_BODY, "does not match"),
    ],
    ids=["tampered-body", "tampered-signature", "missing", "empty", "sha1-downgrade", "not-hex"],
)
def test_github_rejects(headers: dict[str, str], body: bytes, reason: str) -> None:
    with pytest.raises(BadSignature, match=reason):
        verify_github(headers, body, GITHUB_SECRET)


def test_github_wrong_secret() -> None:
    with pytest.raises(BadSignature):
        verify_github({"x-hub-signature-256": GITHUB_SIGNATURE}, GITHUB_BODY, "another secret")


def test_gitlab_token() -> None:
    verify_token({"x-gitlab-token": "s3cret"}, b"{}", "s3cret")
    with pytest.raises(BadSignature, match="does not match"):
        verify_token({"x-gitlab-token": "s3cret!"}, b"{}", "s3cret")
    with pytest.raises(BadSignature, match="missing X-Gitlab-Token"):
        verify_token({}, b"{}", "s3cret")


@pytest.mark.parametrize("provider", ["gitea", "forgejo"])
def test_gitea_family_hex_hmac(provider: str) -> None:
    verify = WEBHOOKS[provider].verify
    body = b'{"ref": "refs/heads/main"}'
    header = "x-gitea-signature" if provider == "gitea" else "x-forgejo-signature"
    verify({header: gitea_signature(body, "k")}, body, "k")
    verify({header: gitea_signature(body, "k").upper()}, body, "k")
    with pytest.raises(BadSignature, match="does not match"):
        verify({header: gitea_signature(body, "k")}, body + b" ", "k")
    with pytest.raises(BadSignature, match="missing"):
        verify({}, body, "k")


def test_forgejo_accepts_the_gitea_header_it_also_sends() -> None:
    body = b"{}"
    WEBHOOKS["forgejo"].verify({"x-gitea-signature": gitea_signature(body, "k")}, body, "k")


def test_stored_headers_never_keep_secrets() -> None:
    headers = {
        "x-gitlab-token": "s3cret",
        "x-gitlab-event": "Push Hook",
        "x-hub-signature-256": "sha256=00",
        "authorization": "Bearer x",
        "cookie": "a=b",
        "content-type": "application/json",
    }
    assert WEBHOOKS["gitlab"].stored_headers(headers) == {
        "x-gitlab-event": "Push Hook",
        "content-type": "application/json",
    }
