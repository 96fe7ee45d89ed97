"""The one masker: longest first, short values ignored, multi-line secrets, JSON outputs, a
child that sees what its parent learns, and forgetting a replaced token."""

from __future__ import annotations

import base64
from urllib.parse import quote

from app.secrets.masker import Masker


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


def test_longest_first_whatever_the_order_taught() -> None:
    mask = Masker(["abcd", "abcdefgh", ""])
    assert mask("key abcd and abcdefgh") == "key *** and ***"
    assert Masker()("nothing here") == "nothing here"


def test_a_child_hides_its_own_secrets_and_what_its_parent_learns_later() -> None:
    parent = Masker(["process-credential"])
    child = parent.child(["step-secret"])
    parent.add("token-minted-later")
    assert child("process-credential step-secret token-minted-later") == "*** *** ***"
    assert parent("step-secret") == "step-secret"  # the step's secret stays the step's


def test_a_forgotten_secret_is_no_longer_masked() -> None:
    mask = Masker(["old-installation-token"])
    mask.forget("old-installation-token")
    mask.add("new-installation-token")
    assert mask("old-installation-token new-installation-token") == "old-installation-token ***"
    assert len(mask) == len(Masker(["new-installation-token"]))


def test_encoded_forms_are_masked() -> None:
    secret = "s3cr3t-value?&"
    raw = secret.encode()
    mask = Masker([secret])
    encoded = [
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        raw.hex(),
        raw.hex().upper(),
        quote(secret, safe=""),
    ]
    for form in encoded:
        assert mask(f"leak: {form}") == "leak: ***", form


def test_forgetting_a_secret_forgets_its_encodings() -> None:
    mask = Masker()
    mask.add("old-token-1")
    mask.forget("old-token-1")
    assert len(mask) == 0
