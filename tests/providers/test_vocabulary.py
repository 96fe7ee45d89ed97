"""The vocabulary's own rules: token scopes kept in one order, and refused when malformed."""

from __future__ import annotations

import pytest

from providers.vocabulary import Comment, Identity, TokenScope


def test_a_scope_is_sorted_so_equal_scopes_are_equal_and_hash_alike() -> None:
    one = TokenScope(("web", "api"), (("statuses", "write"), ("contents", "read")))
    other = TokenScope(("api", "web", "api"), (("contents", "read"), ("statuses", "write")))
    assert one == other
    assert hash(one) == hash(other)
    assert one.repositories == ("api", "web")
    assert one.permissions == (("contents", "read"), ("statuses", "write"))
    assert {one: "token"}[other] == "token"


def test_an_empty_scope_narrows_nothing() -> None:
    assert not TokenScope().narrows
    assert TokenScope(repositories=("web",)).narrows
    assert TokenScope(permissions=(("checks", "write"),)).narrows


@pytest.mark.parametrize("name", ["acme/web", ""])
def test_a_scope_takes_repository_names_without_the_owner(name: str) -> None:
    with pytest.raises(ValueError, match="without its owner"):
        TokenScope(repositories=(name,))


def test_a_scope_refuses_a_permission_named_twice() -> None:
    with pytest.raises(ValueError, match="named twice"):
        TokenScope(permissions=(("contents", "read"), ("contents", "write")))


def test_comments_know_their_new_fields_default_to_unknown() -> None:
    comment = Comment(id=1, body="hi")
    assert (comment.author_is_bot, comment.pull_request) == (False, None)
    assert Identity(login="shipyard[bot]", is_app=True).wrote(
        Comment(id=1, body="", author="Shipyard[Bot]")
    )
