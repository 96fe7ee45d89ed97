"""The JSON depth bound reads the body's brackets outside strings: for any JSON, the depth it
finds is the depth of the parsed value, whatever brackets, quotes and escapes its strings hold."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from providers.webhooks import MAX_JSON_DEPTH, WEBHOOKS, BadPayload, json_depth, parse_body

TRICKY = ["[", "]", "{", "}", '"', "\\", '\\"', "\\\\", "é", "\u2028", '"]}', "\\u005b"]


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.choice(["str", "num", "list", "dict"] if depth < 12 else ["str", "num"])
    if kind == "str":
        return "".join(rng.choice([*TRICKY, "a", " "]) for _ in range(rng.randint(0, 6)))
    if kind == "num":
        return rng.choice([0, -1.5, 10**30, True, None])
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {random_value(rng, 99): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_the_depth_of_the_text_is_the_depth_of_the_value() -> None:
    rng = random.Random(9)
    for _ in range(500):
        value = random_value(rng, 0)
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
            assert json_depth(text.encode()) == depth_of(value), text


def test_a_body_nested_past_the_bound_is_refused_and_one_at_it_is_taken() -> None:
    spec = WEBHOOKS["github"]
    headers = {"content-type": "application/json"}
    at_bound = '{"a":' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    assert parse_body(spec, headers, at_bound.encode()) == json.loads(at_bound)
    past = '{"a":' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"
    with pytest.raises(BadPayload, match="nests deeper"):
        parse_body(spec, headers, past.encode())
