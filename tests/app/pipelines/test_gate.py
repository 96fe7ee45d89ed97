"""Who may run what: a fork's pull request runs only `forks: true` pipelines, untrusted; a
comment commands Shipyard only as the host says it was written, by someone with the role;
bots are ignored; a secret the repository is not granted fails its config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from app.intake import store
from app.intake.processing import process_delivery
from app.pipelines import runs
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from providers.vocabulary import Comment, Permission
from tests.support.gate import ConfigHost, stored_delivery
from tests.support.hosts import REPO

CONFIG = b"""\
pull_requests: {min_role: write}
pipelines:
  ci:
    on: {pull_request: [opened]}
    steps: [{name: t, type: run_command, config: {command: "true"}}]
  lint:
    on: {pull_request: [opened]}
    forks: true
    steps: [{name: l, type: run_command, config: {command: "true"}}]
  deploy:
    on: {comment: {commands: ["/deploy"], min_role: maintain}}
    steps: [{name: d, type: run_command, config: {command: "true"}}]
  review:
    on: {comment: ["/review"]}
    steps: [{name: r, type: run_command, config: {command: "true"}}]
"""


@pytest.fixture
async def host_and_services(settings: Settings) -> AsyncIterator[tuple[ConfigHost, Services]]:
    host = ConfigHost(CONFIG)
    async with open_services(settings, providers=lambda *_: host) as services:
        yield host, services


def comment_event(body: str, comment_id: int = 11, login: str = "admin") -> dict[str, Any]:
    """An issue_comment on pull request 7, as its payload claims it was written."""
    return {
        "action": "created",
        "issue": {"number": 7, "title": "t", "state": "open", "pull_request": {"url": "x"}},
        "comment": {"id": comment_id, "body": body, "user": {"login": login}},
        "repository": {"full_name": REPO, "default_branch": "main"},
        "sender": {"login": login},
    }


async def route(services: Services, event: str | None = None, payload: Any = None) -> Any:
    pk = await stored_delivery(services, event, payload)
    await process_delivery(services, pk)
    delivery = await store.get(services.sessions, pk)
    assert delivery is not None
    return delivery.outcome["pipelines"] if delivery.outcome else None


async def started(services: Services) -> dict[str, bool]:
    return {run.pipeline: run.spec["trusted"] for run in await runs.recent_runs(services.sessions)}


async def test_a_same_repository_pull_request_by_a_writer_is_trusted(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    _host, services = host_and_services
    outcome = await route(services)
    assert len(outcome["runs"]) == 2
    assert "skipped" not in outcome
    assert await started(services) == {"ci": True, "lint": True}


async def test_a_forks_pull_request_runs_only_forks_true_pipelines_untrusted(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    host, services = host_and_services
    host.pull = replace(host.pull, from_fork=True, author="stranger")
    outcome = await route(services)
    assert outcome["skipped"] == {"ci": "#7 comes from a fork; the pipeline has no forks: true"}
    assert await started(services) == {"lint": False}


async def test_an_author_below_min_role_is_not_trusted(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    host, services = host_and_services
    host.pull = replace(host.pull, author="reader")
    host.roles["reader"] = Permission.READ
    outcome = await route(services)
    assert "below pull_requests.min_role (write)" in outcome["skipped"]["ci"]
    assert await started(services) == {"lint": False}


async def test_a_readers_command_starts_nothing_and_is_answered(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    host, services = host_and_services
    host.roles["reader"] = Permission.READ
    host.host_comments[11] = Comment(id=11, body="/review", author="reader", pull_request=7)
    outcome = await route(services, "issue_comment", comment_event("/review", login="reader"))
    assert outcome["runs"] == []
    assert await started(services) == {}
    [reply] = host.comments
    assert reply.body == (
        "Shipyard did not run this: @reader needs write on acme/web to command Shipyard "
        "here, and has read."
    )


async def test_the_commands_own_role_is_never_below_the_servers_floor(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    host, services = host_and_services
    host.roles["writer"] = Permission.WRITE
    host.host_comments[11] = Comment(id=11, body="/deploy", author="writer", pull_request=7)
    await route(services, "issue_comment", comment_event("/deploy", login="writer"))
    assert await started(services) == {}
    assert "needs maintain" in host.comments[0].body


async def test_a_forged_comment_is_judged_by_what_the_host_says(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    """The payload says the admin wrote it; the host's API says a reader did."""
    host, services = host_and_services
    host.roles |= {"admin": Permission.ADMIN, "mallory": Permission.READ}
    host.host_comments[11] = Comment(id=11, body="/review", author="mallory", pull_request=7)
    outcome = await route(services, "issue_comment", comment_event("/review", login="admin"))
    assert outcome["skipped"] == {
        "review": "@mallory needs write on acme/web to command Shipyard here, and has read"
    }
    assert await started(services) == {}


async def test_a_comment_that_no_longer_gives_the_command_starts_nothing(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    """The payload says `/review`; the comment, as the host has it now, says something else."""
    host, services = host_and_services
    host.roles["octocat"] = Permission.ADMIN
    host.host_comments[11] = Comment(id=11, body="thanks!", author="octocat", pull_request=7)
    outcome = await route(services, "issue_comment", comment_event("/review", login="octocat"))
    assert outcome["skipped"] == {"review": "the comment no longer gives that command"}
    assert await started(services) == {}


async def test_a_comment_the_host_has_on_another_pull_request_is_refused(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    host, services = host_and_services
    host.host_comments[11] = Comment(id=11, body="/review", author="octocat", pull_request=8)
    outcome = await route(services, "issue_comment", comment_event("/review", login="octocat"))
    assert outcome["skipped"] == {"review": "comment 11 is not on #7"}
    assert host.comments == []


@pytest.mark.parametrize(("author", "bot"), [("renovate[bot]", True), ("shipyard[bot]", False)])
async def test_bots_and_shipyard_itself_are_ignored_without_a_reply(
    host_and_services: tuple[ConfigHost, Services], author: str, bot: bool
) -> None:
    host, services = host_and_services
    host.roles[author] = Permission.ADMIN
    host.host_comments[11] = Comment(
        id=11, body="/review", author=author, author_is_bot=bot, pull_request=7
    )
    outcome = await route(services, "issue_comment", comment_event("/review", login=author))
    assert outcome["runs"] == []
    assert await started(services) == {}
    assert host.comments == []


async def test_a_trusted_command_runs_at_the_pull_requests_head(
    host_and_services: tuple[ConfigHost, Services],
) -> None:
    host, services = host_and_services
    host.host_comments[11] = Comment(id=11, body="/review", author="octocat", pull_request=7)
    outcome = await route(services, "issue_comment", comment_event("/review", login="octocat"))
    [run_id] = outcome["runs"]
    run = await runs.get_run(services.sessions, run_id)
    assert run is not None
    assert (run.pipeline, run.sha, run.spec["trusted"]) == ("review", host.pull.head_sha, True)


async def test_a_secret_not_granted_fails_the_config_status(settings: Settings) -> None:
    host = ConfigHost(
        b"pipelines:\n  ci:\n    on: {pull_request: [opened]}\n"
        b"    env: {TOKEN: 'secret://DEPLOY_TOKEN'}\n"
        b"    steps: [{name: t, type: run_command, config: {command: 'true'}}]\n"
    )
    async with open_services(settings, providers=lambda *_: host) as services:
        outcome = await route(services)
    assert "secret://DEPLOY_TOKEN is not defined on this server" in outcome["config_error"]
    [(_, status)] = host.statuses
    assert (status.context, status.state.value) == ("shipyard/config", "failure")
