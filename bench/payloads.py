"""Signed GitHub `push` deliveries of a chosen size, built before the clock starts.

Shipyard treats a body it has stored before as a replay (even under a new delivery id), so a
load that is to be stored needs a different body per request: `unique_pool` makes them from a
few hundred realistic pushes by giving each its own `before` sha, and signs each one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "SignedBody",
    "delivery_headers",
    "push_payload",
    "signed_pool",
    "unique_pool",
    "write_pool_file",
]

_WORDS = (
    "fix", "release", "notes", "for", "tagged", "builds;", "bump", "pinned", "deps;", "retry",
    "flaky", "deploy", "step;", "teach", "the", "planner", "about", "monorepo", "paths;", "tidy",
    "logging", "around", "webhook", "intake",
)  # fmt: skip
_PATHS = (
    "app/intake.py",
    "app/deliveries.py",
    "providers/webhooks.py",
    "jobqueue/worker.py",
    "steps/deploy.py",
    "docs/adr/0003-queue.md",
    "tests/app/test_intake.py",
    "pyproject.toml",
)


@dataclass(frozen=True)
class SignedBody:
    """One request body and its `X-Hub-Signature-256` value."""

    body: bytes
    signature: str


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _user(login: str, user_id: int) -> dict[str, Any]:
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def _commit(rng: random.Random, when: datetime) -> dict[str, Any]:
    sha = _sha(rng)
    author = {"name": "Ada Lovelace", "email": "ada@example.com", "username": "ada"}
    return {
        "id": sha,
        "tree_id": _sha(rng),
        "distinct": True,
        "message": " ".join(rng.choices(_WORDS, k=rng.randint(3, 8))),
        "timestamp": when.isoformat(timespec="seconds"),
        "url": f"https://github.com/octo-org/shipyard-demo/commit/{sha}",
        "author": author,
        "committer": author,
        "added": [],
        "removed": [],
        "modified": rng.sample(_PATHS, rng.randint(1, 2)),
    }


def push_payload(size: int, rng: random.Random) -> dict[str, Any]:
    """A realistic push delivery whose compact JSON is `size` bytes (give or take a few)."""
    owner = _user("octo-org", 9919)
    repository = {
        "id": 63933911,
        "name": "shipyard-demo",
        "full_name": "octo-org/shipyard-demo",
        "private": False,
        "owner": owner,
        "html_url": "https://github.com/octo-org/shipyard-demo",
        "url": "https://github.com/octo-org/shipyard-demo",
        "default_branch": "main",
    }
    when = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**7))
    commits: list[dict[str, Any]] = []
    payload: dict[str, Any] = {
        "ref": "refs/heads/main",
        "before": _sha(rng),
        "after": "",
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/octo-org/shipyard-demo/compare/before...after",
        "commits": commits,
        "head_commit": None,
        "repository": repository,
        "pusher": {"name": "ada", "email": "ada@example.com"},
        "sender": _user("ada", 583231),
    }
    commits.append(_commit(rng, when))
    payload["head_commit"] = commits[0]
    length = len(_encode(payload))
    while length < size - 600:  # each further commit adds ~500 bytes
        commits.append(_commit(rng, when + timedelta(minutes=len(commits))))
        length += len(_encode(commits[-1])) + 1
    payload["after"] = commits[-1]["id"]
    payload["head_commit"] = commits[-1]
    missing = size - len(_encode(payload))
    if missing > 0:  # the last commit appears twice (also as head_commit): pad its message
        commits[-1]["message"] += " " + "x" * max(0, (missing - 1) // 2)
    return payload


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def signed_pool(size: int, count: int, secret: str, *, seed: int = 1) -> list[SignedBody]:
    """`count` different push bodies of about `size` bytes, each signed with `secret`."""
    rng = random.Random(seed)
    pool = []
    for _ in range(count):
        body = _encode(push_payload(size, rng))
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        pool.append(SignedBody(body, f"sha256={digest}"))
    return pool


def unique_pool(
    size: int, count: int, secret: str, *, tag: int, variety: int = 500
) -> list[SignedBody]:
    """`count` push bodies of about `size` bytes, no two alike, each signed with `secret`.

    `variety` different pushes are made once; body `i` is push `i % variety` with the `before`
    sha `<tag as 8 hex digits><i as 32>`, so pools with different tags never share a body.
    """
    rng = random.Random(tag)
    key = secret.encode()
    marker = b'"before":"'
    templates = []
    for _ in range(min(variety, count)):
        body = _encode(push_payload(size, rng))
        start = body.index(marker) + len(marker)
        templates.append((body[:start], body[start + 40 :]))
    pool = []
    for number in range(count):
        head, tail = templates[number % len(templates)]
        body = head + f"{tag:08x}{number:032x}".encode() + tail
        pool.append(SignedBody(body, "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()))
    return pool


def write_pool_file(pool: list[SignedBody], path: str) -> None:
    """The pool as bench/wrk_push.lua reads it: `<signature>\t<body>` a line."""
    with open(path, "wb") as file:
        for signed in pool:
            file.write(signed.signature.encode() + b"\t" + signed.body + b"\n")


def delivery_headers(signed: SignedBody) -> dict[str, str]:
    """The headers GitHub sends with a push, with a fresh delivery id."""
    return {
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Event": "push",
        "X-GitHub-Hook-ID": "4242",
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
        "X-Hub-Signature-256": signed.signature,
    }
