"""Signed cookie values: they round-trip, and any change, other purpose, key or age refuses."""

from __future__ import annotations

from app.auth.sealed import (
    Attempt,
    Session,
    open_attempt,
    open_session,
    seal,
    seal_attempt,
    seal_session,
    unseal,
)

KEY = b"k" * 32
NOW = 1_000_000.0


def test_a_session_round_trips_until_it_expires() -> None:
    session = Session("github", "octocat", "csrf-token", NOW + 60)
    sealed = seal_session(KEY, session)
    assert open_session(KEY, sealed, now=NOW) == session
    assert open_session(KEY, sealed, now=NOW + 59) == session
    assert open_session(KEY, sealed, now=NOW + 60) is None


def test_a_changed_value_another_key_or_garbage_opens_to_nothing() -> None:
    sealed = seal_session(KEY, Session("github", "octocat", "c", NOW + 60))
    body, mac = sealed.split(".")
    forged = seal_session(b"x" * 32, Session("github", "admin", "c", NOW + 60)).split(".")[0]
    for attempt in (
        f"{forged}.{mac}",
        f"{body}.{mac[:-2]}AA",
        f"{body}x.{mac}",
        body,
        "",
        None,
        "a.b.c",
        "%%%.%%%",
    ):
        assert open_session(KEY, attempt, now=NOW) is None
    assert open_session(b"y" * 32, sealed, now=NOW) is None


def test_a_sign_in_attempt_is_never_a_session() -> None:
    attempt = Attempt("github", "state", "verifier", "/runs/1", NOW + 60)
    sealed = seal_attempt(KEY, attempt)
    assert open_attempt(KEY, sealed, now=NOW) == attempt
    assert open_session(KEY, sealed, now=NOW) is None
    assert open_attempt(KEY, seal_session(KEY, Session("g", "l", "c", NOW + 60)), now=NOW) is None


def test_values_of_the_wrong_shape_are_refused() -> None:
    assert unseal(KEY, "session", seal(KEY, "session", {"h": 1}, expires=NOW + 5), now=NOW) == {
        "h": 1,
        "exp": int(NOW + 5),
    }
    wrong = seal(KEY, "session", {"h": 1, "l": "x", "c": "y"}, expires=NOW + 5)
    assert open_session(KEY, wrong, now=NOW) is None
