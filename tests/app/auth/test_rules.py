"""The rules as data: when pages are open, where a sign-in may return to, who the admins are."""

from __future__ import annotations

import pytest

from app.auth.rules import (
    DEFAULT_NEXT,
    is_loopback_name,
    open_without_sign_in,
    parse_admins,
    safe_next,
    sign_in_host,
)

ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (a setting's value; nothing binds to it)

LOOPBACK_URL = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("name", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        (ALL_INTERFACES, False),
        ("::", False),
        ("10.0.0.1", False),
        ("shipyard.example.com", False),
        ("localhost.example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_names(name: str | None, loopback: bool) -> None:
    assert is_loopback_name(name) is loopback


@pytest.mark.parametrize(
    ("bind", "public_url", "headers", "is_open"),
    [
        ("127.0.0.1", LOOPBACK_URL, ["host", "accept"], True),  # `make run`
        ("::1", "http://[::1]:8000", [], True),
        ("localhost", "http://localhost:8000/", [], True),
        (ALL_INTERFACES, LOOPBACK_URL, [], False),  # reachable from the network
        ("127.0.0.1", "https://shipyard.example.com", [], False),  # published under a name
        ("127.0.0.1", LOOPBACK_URL, ["X-Forwarded-For"], False),  # a proxy on this host
        ("127.0.0.1", LOOPBACK_URL, ["forwarded"], False),
        ("127.0.0.1", LOOPBACK_URL, ["x-forwarded-host"], False),
        ("127.0.0.1", LOOPBACK_URL, ["x-forwarded-proto"], False),
        ("127.0.0.1", LOOPBACK_URL, ["x-real-ip"], False),
    ],
)
def test_pages_are_open_only_on_loopback_reached_directly(
    bind: str, public_url: str, headers: list[str], is_open: bool
) -> None:
    assert open_without_sign_in(bind, public_url, headers) is is_open


@pytest.mark.parametrize(
    "value",
    ["/runs/1", "/runs", "/deliveries/3?tab=log", "/runs/1#step-tests", "/%2F/evil.example"],
)
def test_same_origin_paths_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "runs/1",
        "https://evil.example/",
        "//evil.example/runs",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        " /runs",
        "/login",
        "/login?next=/runs",
        "/logout",
        "/auth/github/callback?code=x",
        "/" + "a" * 2100,
    ],
)
def test_anything_else_goes_to_the_runs(value: str | None) -> None:
    assert safe_next(value) == DEFAULT_NEXT


def test_admins_are_host_login_pairs_compared_without_case() -> None:
    admins = parse_admins(" github:Alice, gitlab:bob ,forgejo:carol, nohost, :x, svn:dave,")
    assert admins == {("github", "alice"), ("gitlab", "bob"), ("gitea", "carol")}
    assert parse_admins("") == frozenset()


def test_forgejo_users_sign_in_through_gitea() -> None:
    assert [sign_in_host(p) for p in ("github", "gitlab", "gitea", "forgejo", "svn")] == [
        "github",
        "gitlab",
        "gitea",
        "gitea",
        None,
    ]
