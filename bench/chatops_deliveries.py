"""bench.chatops's commands: signed GitHub `issue_comment` `created` deliveries on pull requests,
and sending them open loop at a mean rate, each stamped with the time it was sent."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["AUTHOR", "REPOSITORY", "Command", "commands", "issue_comment", "send"]

REPOSITORY = "acme/web"
AUTHOR = "mira"
COMMENT_BASE = 5_000_000  # command n's comment id is COMMENT_BASE + n
WEB = "https://github.example"
API = "https://api.github.example"


@dataclass
class Command:
    """One comment command: its pull request, its comment, the delivery that says so."""

    number: int
    comment_id: int
    text: str
    body: bytes
    signature: str
    delivery_id: str
    sent_at: float = 0.0  # time.time() just before the request was written
    answer: int | str = 0  # the HTTP status, or the transport error's name

    def told(self) -> dict[str, Any]:
        """What the Git host stand-in needs to know of the comment to answer a re-read."""
        return {"id": self.comment_id, "number": self.number, "body": self.text, "author": AUTHOR}


def issue_comment(number: int, comment_id: int, text: str) -> dict[str, Any]:
    """A GitHub `issue_comment` `created` delivery for a comment on pull request `number`, as a
    repository webhook sends it (no `installation`: Shipyard and Probot use a token)."""
    owner, _, name = REPOSITORY.partition("/")
    user = {"login": AUTHOR, "id": 77, "type": "User", "site_admin": False}
    repository = {
        "id": 1296269,
        "name": name,
        "full_name": REPOSITORY,
        "private": False,
        "owner": {"login": owner, "id": 1, "type": "Organization"},
        "html_url": f"{WEB}/{REPOSITORY}",
        "clone_url": f"{WEB}/{REPOSITORY}.git",
        "default_branch": "main",
    }
    return {
        "action": "created",
        "issue": {
            "url": f"{API}/repos/{REPOSITORY}/issues/{number}",
            "number": number,
            "title": f"Change {number}",
            "state": "open",
            "user": user,
            "html_url": f"{WEB}/{REPOSITORY}/pull/{number}",
            "pull_request": {
                "url": f"{API}/repos/{REPOSITORY}/pulls/{number}",
                "html_url": f"{WEB}/{REPOSITORY}/pull/{number}",
                "merged_at": None,
            },
        },
        "comment": {
            "id": comment_id,
            "body": text,
            "user": user,
            "author_association": "MEMBER",
            "html_url": f"{WEB}/{REPOSITORY}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"{API}/repos/{REPOSITORY}/issues/{number}",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "repository": repository,
        "sender": user,
    }


def commands(secret: str, first: int, count: int, text: str) -> list[Command]:
    """`count` commands `text`, on pull requests `first`, `first + 1`, …, each with a comment,
    a body and a delivery id of its own (Shipyard takes a body it has stored as a replay)."""
    made = []
    for number in range(first, first + count):
        comment_id = COMMENT_BASE + number
        body = json.dumps(issue_comment(number, comment_id, text)).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        made.append(Command(number, comment_id, text, body, f"sha256={digest}", str(uuid.uuid4())))
    return made


async def send(url: str, sent: list[Command], rate: float, seed: int = 7) -> None:
    """POST each command to `url` at `rate` a second on average (Poisson arrivals, seeded: a
    fixed period would lock step with the worker's polling), whether or not earlier ones were
    answered. Returns once every one is answered."""

    async def post(client: httpx.AsyncClient, command: Command) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/bench",
            "X-GitHub-Event": "issue_comment",
            "X-GitHub-Delivery": command.delivery_id,
            "X-Hub-Signature-256": command.signature,
        }
        request = client.build_request("POST", url, content=command.body, headers=headers)
        command.sent_at = time.time()
        try:
            command.answer = (await client.send(request)).status_code
        except httpx.HTTPError as error:
            command.answer = type(error).__name__

    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        loop = asyncio.get_running_loop()
        start, offset = loop.time(), 0.0
        tasks = []
        for command in sent:
            await asyncio.sleep(max(0.0, start + offset - loop.time()))
            tasks.append(asyncio.create_task(post(client, command)))
            offset += rng.expovariate(rate)
        await asyncio.gather(*tasks)
