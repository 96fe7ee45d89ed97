"""The masker: longest first, short values ignored, multi-line secrets, JSON outputs."""

from __future__ import annotations

from steps.masking import Masker


def test_masks_every_occurrence() -> None:
    mask = Masker(["hunter2!"])
    assert mask("a hunter2! b hunter2!") == "a *** b ***"


def test_longest_secret_wins() -> None:
    mask = Masker(["abcd", "abcdefgh"])
    assert mask("abcdefgh abcd") == "*** ***"


def test_short_and_empty_values_are_ignored() -> None:
    mask = Masker(["", "a", "on", "yes", "   "])
    assert len(mask) == 0
    assert mask("yes, a turn on") == "yes, a turn on"


def test_special_characters_are_literal() -> None:
    mask = Masker(["p.s+w(rd)*"])
    assert mask("x p.s+w(rd)* y pXs+w(rd)") == "x *** y pXs+w(rd)"


def test_add_takes_effect_at_once() -> None:
    mask = Masker()
    assert mask("token-1234") == "token-1234"
    mask.add("token-1234")
    assert mask("token-1234") == "***"


def test_multi_line_secrets_are_masked_line_by_line_too() -> None:
    key = "-----BEGIN KEY-----\nMIIEowIBAAKCAQEA\nqwerty12345\n-----END KEY-----"
    mask = Masker([key])
    assert mask(key) == "***"
    assert mask("line: qwerty12345") == "line: ***"


def test_mask_json_recurses() -> None:
    mask = Masker(["s3cr3t"])
    value = {"a": "x s3cr3t", "list": ["s3cr3t", 1, None, True, {"s3cr3t": "k"}], "n": 4}
    assert mask.mask_json(value) == {
        "a": "x ***",
        "list": ["***", 1, None, True, {"***": "k"}],
        "n": 4,
    }
