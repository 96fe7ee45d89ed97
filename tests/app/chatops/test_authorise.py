"""Who may give which command on which pull request (pure): the role the permissions map asks
(raised to the server's floor), never a fork's pull request but for /help and /wcid, and a
draft only where the environment allows drafts."""

from __future__ import annotations

import pytest

from app.chatops.authorise import refusal
from app.chatops.config import ChatopsConfig
from app.chatops.parse import Command
from app.environments.config import EnvironmentSpec
from providers.vocabulary import Permission, PullRequest

ENVIRONMENTS = {
    "staging": EnvironmentSpec(targets=("web-1",)),
    "preview": EnvironmentSpec(targets=("web-1",), drafts=True),
    "production": EnvironmentSpec(targets=("web-2",)),
}
CHATOPS = ChatopsConfig(
    default_environment="staging",
    permissions={"deploy:production": "maintain", "rollback": "maintain"},
)


def pull(*, fork: bool = False, draft: bool = False) -> PullRequest:
    return PullRequest(
        number=4,
        title="t",
        head_ref="feature",
        head_sha="a" * 40,
        base_ref="main",
        state="open",
        from_fork=fork,
        draft=draft,
    )


@pytest.mark.parametrize(
    ("command", "role", "pr", "floor", "wanted"),
    [
        (Command("deploy", "staging"), Permission.WRITE, pull(), Permission.WRITE, None),
        (Command("deploy"), Permission.WRITE, pull(), Permission.WRITE, None),  # default env
        (
            Command("deploy", "production"),
            Permission.WRITE,
            pull(),
            Permission.WRITE,
            "needs maintain",
        ),
        (Command("deploy", "production"), Permission.MAINTAIN, pull(), Permission.WRITE, None),
        (
            Command("rollback", "staging"),
            Permission.WRITE,
            pull(),
            Permission.WRITE,
            "needs maintain",
        ),
        (Command("deploy", "staging"), Permission.READ, pull(), Permission.WRITE, "has read"),
        (Command("deploy", "staging"), Permission.WRITE, pull(), Permission.ADMIN, "needs admin"),
        (Command("help"), Permission.READ, pull(), Permission.ADMIN, None),  # floor spares help
        (Command("wcid"), Permission.READ, pull(fork=True), Permission.WRITE, None),
        (Command("help"), Permission.NONE, pull(), Permission.WRITE, "needs read"),
        (
            Command("deploy", "staging"),
            Permission.ADMIN,
            pull(fork=True),
            Permission.WRITE,
            "from a fork",
        ),
        (
            Command("lock", "staging"),
            Permission.ADMIN,
            pull(fork=True),
            Permission.WRITE,
            "from a fork",
        ),
        (
            Command("deploy", "staging"),
            Permission.WRITE,
            pull(draft=True),
            Permission.WRITE,
            "draft",
        ),
        (Command("noop", "staging"), Permission.WRITE, pull(draft=True), Permission.WRITE, "draft"),
        (Command("deploy", "preview"), Permission.WRITE, pull(draft=True), Permission.WRITE, None),
        (Command("lock", "staging"), Permission.WRITE, pull(draft=True), Permission.WRITE, None),
    ],
)
def test_refusal(
    command: Command, role: Permission, pr: PullRequest, floor: Permission, wanted: str | None
) -> None:
    said = refusal(command, "alice", role, pr, CHATOPS, ENVIRONMENTS, floor)
    if wanted is None:
        assert said is None
    else:
        assert said is not None
        assert wanted in said
