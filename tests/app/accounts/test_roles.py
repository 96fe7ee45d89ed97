"""Roles, permissions, repository scopes and expiry durations of service accounts (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.roles import (
    InvalidAccount,
    Permission,
    allowed_repository,
    check_repositories,
    parse_duration,
    permissions_of,
)
from app.accounts.tokens import TOKEN_PREFIX, hash_token, looks_like_token, new_token

R = Permission


@pytest.mark.parametrize(
    ("roles", "has", "lacks"),
    [
        (["admin"], [R("service-accounts", "create"), R("releases", "create")], []),
        (
            ["release-creator"],
            [R("releases", "create"), R("releases", "read"), R("builds", "create")],
            [R("service-accounts", "read"), R("deployments", "create")],
        ),
        (
            ["deployer"],
            [R("releases", "read"), R("deployments", "create")],
            [R("releases", "create"), R("builds", "create"), R("service-accounts", "read")],
        ),
        (
            ["viewer"],
            [R("releases", "read"), R("builds", "read")],
            [R("releases", "create"), R("deployments", "create"), R("service-accounts", "read")],
        ),
        (
            ["viewer", "deployer"],
            [R("builds", "read"), R("deployments", "create")],
            [R("releases", "create")],
        ),
    ],
)
def test_roles_grant_their_permissions(
    roles: list[str], has: list[Permission], lacks: list[Permission]
) -> None:
    granted = permissions_of(roles)
    assert set(has) <= granted
    assert not set(lacks) & granted


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([{"resource": "releases", "action": "create"}], R("releases", "create")),
        (["deployments:create"], R("deployments", "create")),
        ([R("builds", "create")], R("builds", "create")),
    ],
)
def test_extra_permissions_are_added(extra: list[object], expected: Permission) -> None:
    assert expected not in permissions_of(["viewer"])
    assert expected in permissions_of(["viewer"], extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("roles", "extra", "message"),
    [
        (["owner"], [], "unknown role 'owner'; roles are admin, release-creator"),
        (["viewer"], ["pipelines:read"], "unknown resource 'pipelines'"),
        (["viewer"], [{"resource": "releases", "action": "push"}], "unknown action 'push'"),
        (["viewer"], ["service-accounts:create"], "only the role admin manages"),
    ],
)
def test_unknown_roles_and_permissions_are_refused(
    roles: list[str], extra: list[object], message: str
) -> None:
    with pytest.raises(InvalidAccount, match=message):
        permissions_of(roles, extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("365d", timedelta(days=365)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(minutes=90)),
        (" 90s ", timedelta(seconds=90)),
        ("3650d", timedelta(days=3650)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("365", "has no unit"),
        ("", "invalid duration"),
        ("soon", "invalid duration"),
        ("0d", "above zero"),
        ("-1d", "invalid duration"),
        ("3651d", "more than 3650d"),
        ("12y", "invalid duration"),
    ],
)
def test_bad_durations(text: str, message: str) -> None:
    with pytest.raises(InvalidAccount, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("globs", "provider", "repository", "allowed"),
    [
        (["acme/*"], "github", "acme/web", True),
        (["acme/*"], "gitlab", "Acme/Web", True),
        (["acme/*"], "github", "acme/web/sub", False),
        (["acme/**"], "gitlab", "acme/group/web", True),
        (["github:acme/*"], "gitlab", "acme/web", False),
        (["gitea:acme/*"], "forgejo", "acme/web", True),
        (["other/*", "acme/web"], "github", "acme/web", True),
        (["acme/web"], "github", "acme/website", False),
        ([], "github", "acme/web", False),
    ],
)
def test_repository_scope(globs: list[str], provider: str, repository: str, allowed: bool) -> None:
    assert allowed_repository(["release-creator"], globs, provider, repository) is allowed


def test_admin_is_server_wide() -> None:
    assert allowed_repository(["admin"], [], "gitlab", "any/where")
    assert check_repositories(["admin"], []) == ()


@pytest.mark.parametrize(
    ("globs", "message"),
    [
        ([], "repositories are required for every role but admin"),
        (["bitbucket:acme/*"], "unknown host 'bitbucket'"),
        (["/acme"], "is not owner/name"),
        (["github:"], "is not owner/name"),
    ],
)
def test_bad_scopes(globs: list[str], message: str) -> None:
    with pytest.raises(InvalidAccount, match=message):
        check_repositories(["deployer"], globs)


def test_tokens_carry_256_bits_and_are_kept_as_their_sha256() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        assert len(token) - len(TOKEN_PREFIX) >= 43  # 32 bytes of base64url
        assert looks_like_token(token)
        assert len(hash_token(token)) == 64
        assert token not in hash_token(token)
    assert not looks_like_token("ghp_" + "a" * 40)
    assert not looks_like_token(TOKEN_PREFIX + "short")
    assert not looks_like_token(TOKEN_PREFIX + "a" * 40 + "!")
