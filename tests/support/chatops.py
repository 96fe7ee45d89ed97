"""ChatOps end to end: the comment each host delivers (its own payload, from the real deliveries
in ../shared/corpus, pointed at acme/web), signed and posted to a running Shipyard whose jobs
run in its own process; what it made, read from its database.

`Shipyard.command` is a person commenting: the host keeps the comment (`ChatopsHost.say`),
delivers it, and the test waits until Shipyard's queue has done everything it started
(`send` does not wait, for a test that holds a deployment running)."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from app.db.engine import create_engine
from app.db.models.deliveries import Delivery
from app.db.models.deployments import DeploymentJob
from app.db.models.releases import Release
from app.db.schema import upgrade
from app.main import create_app
from app.services import Services
from app.settings import Settings
from jobqueue.inprocess import InProcessQueue
from tests.support.chatops_hosts import FORK_PROJECT_ID, PROJECT_ID, ChatopsHost
from tests.support.corpus import corpus_dir
from tests.support.deliveries import delivery
from tests.support.deploy_hosts import deploy_settings
from tests.support.deploying import REPOSITORY
from tests.support.http import running
from tests.support.release_hosts import GITEA, GITLAB
from tests.support.settings import make_settings

__all__ = [
    "EDITED",
    "Shipyard",
    "chatops_settings",
    "comment_event",
    "deploy_script",
    "migrated_sqlite",
    "pull_request_event",
    "ran_lines",
    "release_hold",
    "shipyard",
]

# What each host calls an edited comment (GitLab: the note's `action`).
EDITED = {"github": "edited", "gitlab": "update", "gitea": "edited"}
_CORPUS = {
    "github": ("github/pull-request-issue-comment.json", "issue_comment"),
    "gitlab": ("gitlab/comment-merge-request-event.json", "Note Hook"),
    "gitea": ("gitea/pull-request-comment-event.json", "pull_request_comment"),
}


def chatops_settings(database_url: str, provider: str, **more: Any) -> Settings:
    """`deploy_settings`: `provider`'s faked API, jobs in this process, targets unsandboxed;
    a delivery is tried once (a handler that fails fails the test at once, not after the
    retries' back-off)."""
    values = {"SHIPYARD_DELIVERY_MAX_TRIES": "1", **more}
    return deploy_settings(database_url, provider, **values)


def comment_event(
    host: ChatopsHost, number: int, comment_id: int, *, action: str | None = None
) -> tuple[str, dict[str, Any]]:
    """(event name, payload) of the comment `comment_id` on pull request `number` as `host`
    delivers it: the corpus's own delivery, saying what the host has (its body and author),
    on acme/web, with `action` (default: a new comment)."""
    found = next(c for c in host.comments_on(number) if c["id"] == comment_id)
    author = found["author"]["username"] if host.provider == "gitlab" else found["user"]["login"]
    file, event = _CORPUS[host.provider]
    payload = json.loads((corpus_dir() / file).read_text())
    shaped = {"github": _github, "gitlab": _gitlab, "gitea": _gitea}[host.provider]
    return event, shaped(
        copy.deepcopy(payload), host, number, comment_id, found["body"], author, action
    )


def pull_request_event(host: ChatopsHost, number: int, action: str) -> tuple[str, dict[str, Any]]:
    """(event name, payload) of GitHub's `pull_request` delivery (the corpus's own) for pull
    request `number` of acme/web as `host` has it now: `synchronize` after a push (its new
    head), `closed`..."""
    assert host.provider == "github", "GitHub's pull_request delivery"
    pull = host.pull(number)
    p = json.loads((corpus_dir() / "github/pull-request.json").read_text())
    own = {
        **p["repository"],
        "name": "web",
        "full_name": REPOSITORY,
        "default_branch": "main",
        "html_url": f"https://github.com/{REPOSITORY}",
    }
    p["action"] = action
    p["number"] = number
    p["pull_request"] |= {
        "number": number,
        "state": "open" if pull.state == "open" else "closed",
        "merged": pull.state == "merged",
        "draft": pull.draft,
        "html_url": f"https://github.com/{REPOSITORY}/pull/{number}",
        "head": {**p["pull_request"]["head"], "ref": pull.branch, "sha": pull.head, "repo": own},
        "base": {**p["pull_request"]["base"], "ref": pull.base, "repo": own},
    }
    p["repository"] = own
    return "pull_request", p


def _github(
    p: dict[str, Any],
    host: ChatopsHost,
    number: int,
    comment_id: int,
    body: str,
    login: str,
    action: str | None,
) -> dict[str, Any]:
    api = f"https://api.github.com/repos/{REPOSITORY}"
    p["action"] = action or "created"
    p["issue"] |= {
        "number": number,
        "url": f"{api}/issues/{number}",
        "html_url": f"https://github.com/{REPOSITORY}/pull/{number}",
        "pull_request": {
            "url": f"{api}/pulls/{number}",
            "html_url": f"https://github.com/{REPOSITORY}/pull/{number}",
        },
    }
    p["comment"] |= {
        "id": comment_id,
        "url": f"{api}/issues/comments/{comment_id}",
        "html_url": f"https://github.com/{REPOSITORY}/pull/{number}#issuecomment-{comment_id}",
        "issue_url": f"{api}/issues/{number}",
        "body": body,
        "user": {**p["comment"]["user"], "login": login},
    }
    p["repository"] |= {
        "name": "web",
        "full_name": REPOSITORY,
        "html_url": f"https://github.com/{REPOSITORY}",
        "url": api,
        "default_branch": "main",
        "fork": False,
    }
    p["sender"] = {**p["sender"], "login": login}
    return p


def _gitlab(
    p: dict[str, Any],
    host: ChatopsHost,
    number: int,
    comment_id: int,
    body: str,
    login: str,
    action: str | None,
) -> dict[str, Any]:
    pull = host.pull(number)
    project = {
        **p["project"],
        "id": PROJECT_ID,
        "name": "web",
        "path_with_namespace": REPOSITORY,
        "default_branch": "main",
        "web_url": f"{GITLAB}/{REPOSITORY}",
        "git_http_url": f"{GITLAB}/{REPOSITORY}.git",
    }
    p["user"] = {**p["user"], "username": login, "name": login}
    p["project_id"] = PROJECT_ID
    p["project"] = project
    p["object_attributes"] |= {
        "id": comment_id,
        "note": body,
        "noteable_type": "MergeRequest",
        "project_id": PROJECT_ID,
        "url": f"{GITLAB}/{REPOSITORY}/-/merge_requests/{number}#note_{comment_id}",
    }
    if action is not None:
        p["object_attributes"]["action"] = action
    p["merge_request"] |= {
        "id": 90 + number,
        "iid": number,
        "source_branch": pull.branch,
        "target_branch": pull.base,
        "source_project_id": FORK_PROJECT_ID if pull.fork else PROJECT_ID,
        "target_project_id": PROJECT_ID,
        "state": "opened",
        "last_commit": {**p["merge_request"]["last_commit"], "id": pull.head},
        "target": project,
    }
    return p


def _gitea(
    p: dict[str, Any],
    host: ChatopsHost,
    number: int,
    comment_id: int,
    body: str,
    login: str,
    action: str | None,
) -> dict[str, Any]:
    p["action"] = action or "created"
    p["issue"] |= {
        "number": number,
        "url": f"{GITEA}/api/v1/repos/{REPOSITORY}/issues/{number}",
        "html_url": f"{GITEA}/{REPOSITORY}/pulls/{number}",
        "repository": {"id": 7, "name": "web", "owner": "acme", "full_name": REPOSITORY},
    }
    p["comment"] |= {
        "id": comment_id,
        "html_url": f"{GITEA}/{REPOSITORY}/pulls/{number}#issuecomment-{comment_id}",
        "body": body,
        "user": {**p["comment"]["user"], "login": login, "username": login},
    }
    p["repository"] |= {
        "id": 7,
        "name": "web",
        "full_name": REPOSITORY,
        "html_url": f"{GITEA}/{REPOSITORY}",
        "default_branch": "main",
    }
    p["sender"] = {**p["sender"], "login": login, "username": login}
    return p


@dataclass
class Shipyard:
    """A running Shipyard (its HTTP client and its services) and the host it talks to."""

    client: httpx.AsyncClient
    services: Services
    host: ChatopsHost

    async def send(
        self, number: int, login: str, body: str, *, action: str | None = None
    ) -> tuple[int, str]:
        """`login` comments `body` on pull request `number`, and the host delivers it, signed;
        the comment's id and the delivery's, once Shipyard took it (202)."""
        comment_id = self.host.say(number, login, body)
        event, payload = comment_event(self.host, number, comment_id, action=action)
        return comment_id, await self.post(event, payload)

    async def post(self, event: str, payload: dict[str, Any]) -> str:
        """The host delivers `payload` as `event`, signed; the delivery's id, once Shipyard
        took it (202)."""
        body, headers = delivery(self.host.provider, event, payload)
        answer = await self.client.post(
            f"/webhooks/{self.host.provider}", content=body, headers=headers
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["delivery_id"])

    async def deliver(self, event: str, payload: dict[str, Any]) -> None:
        """`post`, then wait until everything it started has finished."""
        await self.post(event, payload)
        await self.settle()

    async def command(
        self, number: int, login: str, body: str, *, action: str | None = None
    ) -> int:
        """`send`, then wait until everything it started has finished; the comment's id."""
        comment_id, _ = await self.send(number, login, body, action=action)
        await self.settle()
        return comment_id

    async def settle(self) -> None:
        """Wait until the queue has finished every job it was given (deploys included)."""
        assert isinstance(self.services.queue, InProcessQueue)
        await self.services.queue.join()

    async def outcome(self, delivery_id: str) -> dict[str, Any] | None:
        """What the features made of a delivery (`{"chatops": …}`), as recorded."""
        async with self.services.sessions() as session:
            found = await session.exec(select(Delivery).where(Delivery.delivery_id == delivery_id))
            row = found.one()
            return row.outcome

    async def jobs(self) -> list[DeploymentJob]:
        async with self.services.sessions() as session:
            return list(await session.exec(select(DeploymentJob).order_by(col(DeploymentJob.id))))

    async def releases(self) -> list[Release]:
        async with self.services.sessions() as session:
            return list(await session.exec(select(Release).order_by(col(Release.id))))


@contextlib.asynccontextmanager
async def shipyard(settings: Settings, host: ChatopsHost) -> AsyncIterator[Shipyard]:
    """Shipyard running with `settings` (its lifespan on), talking to `host`."""
    app = create_app(settings)
    async with running(app) as client:
        yield Shipyard(client, app.state.services, host)


async def migrated_sqlite(directory: Path) -> str:
    """A SQLite database in `directory`, migrated to head (for the tests that run on SQLite
    only; the `migrated` fixture runs a test on PostgreSQL too)."""
    url = f"sqlite:///{directory / 'shipyard.db'}"
    engine = create_engine(make_settings(url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


def deploy_script(directory: Path, *, hold: bool = False) -> str:
    """A command target's script: it appends `<target> <commit>` to `ran` in `directory`, then
    the component's digest and the `note` param when the deploy has them. With `hold`, it
    first waits (up to 60 s) until the test `release_hold`s it: a deployment that holds its
    environment meanwhile."""
    wait = (
        f"for _ in $(seq 1200); do [ -e {directory}/go ] && break; sleep 0.05; done\n"
        if hold
        else ""
    )
    more = "".join(
        f"${{{name}:+ }}${{{name}:-}}" for name in ("SHIPYARD_DIGEST", "SHIPYARD_PARAM_NOTE")
    )
    return f'{wait}echo "$SHIPYARD_TARGET $SHIPYARD_COMMIT{more}" >> {directory}/ran\n'


def release_hold(directory: Path) -> None:
    """Let the held deployments of `deploy_script(directory, hold=True)` go on."""
    (directory / "go").touch()


def ran_lines(directory: Path) -> list[str]:
    """What the command targets ran (`deploy_script`'s `ran` in `directory`), in order."""
    path = directory / "ran"
    return path.read_text().splitlines() if path.exists() else []
