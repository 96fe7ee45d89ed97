"""The deployment pages: the list, one deployment with its waves, tasks, digests, artifacts and
logs, its live event stream, its Approve / Cancel / Roll back buttons, and what runs where per
environment — real jobs run through command targets behind a real uvicorn, shown only to those
who may read the repository, escaped."""

from __future__ import annotations

import hashlib
import html
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from markupsafe import escape

from app.db.models.deployments import DeploymentJob, JobKind, JobState, TaskState
from app.deployments import jobs
from app.deployments.strategies import Previous, plan_waves
from app.deployments.task_logs import task_log
from app.environments.config import BlueGreen, Canary, Rolling
from app.environments.promotion import Promotion, promote
from app.environments.requesters import Requester
from app.web import deployment_events
from app.web.deployment_events import live_streams
from app.web.deployments import describe_wave
from tests.support.deploy_pages import (
    DeployPages,
    Event,
    PagesHost,
    deployment_pages,
    read_events,
    settled,
)
from tests.support.deploying import OPERATOR, command_target, deploy, ready_release, register
from tests.support.deploying import tasks_of as tasks_of_job
from tests.support.releases import add_release, digest_of
from tests.support.waiting import eventually

CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  staging:
    targets: [s1, s2]
    strategy: {type: rolling, batch_size: 1}
    artifacts: [manifest]
  production:
    targets: [p1]
    approvals: 1
    deployers: maintain
  live:
    targets: [t1]
"""
ECHO = 'echo "deploying $SHIPYARD_COMPONENT $SHIPYARD_DIGEST to $SHIPYARD_TARGET"'
MAGGIE = Requester.person("github", "maggie")


def gated_script(directory: Path) -> str:
    """Prints a line with markup in it and a second, waits for `more`, prints a third; it
    starts only once `go` is there (each wait gives up after 20 s)."""
    return (
        f"for i in $(seq 400); do [ -e {directory}/go ] && break; sleep 0.05; done\n"
        'echo "line 1 <b>$SHIPYARD_TARGET</b>"\n'
        'echo "line 2"\n'
        f"for i in $(seq 400); do [ -e {directory}/more ] && break; sleep 0.05; done\n"
        'echo "line 3"\n'
    )


@pytest.fixture
async def pages(migrated: str, tmp_path: Path) -> AsyncIterator[DeployPages]:
    async with deployment_pages(migrated, PagesHost(CONFIG)) as pages:
        for name in ("s1", "s2", "p1"):
            await register(pages.services, name, command_target(ECHO))
        await register(pages.services, "t1", command_target(gated_script(tmp_path)))
        yield pages


async def two_releases_on_staging(pages: DeployPages) -> tuple[DeploymentJob, DeploymentJob]:
    services = pages.services
    first = await deploy(services, await ready_release(services.sessions, "v1"), "staging")
    second = await deploy(services, await ready_release(services.sessions, "v2"), "staging")
    assert (first.state, second.state) == (JobState.COMPLETED, JobState.COMPLETED), second.error
    return first, second


async def awaiting_approval(pages: DeployPages, name: str = "p-1") -> DeploymentJob:
    """A deployment to production asked for by maggie, waiting for someone else's approval."""
    release = await ready_release(pages.services.sessions, name)
    job = await promote(pages.services, Promotion(release, "production", MAGGIE, via="cli"))
    assert job.state == JobState.AWAITING_APPROVAL
    return job


async def hidden_job(pages: DeployPages) -> DeploymentJob:
    """A deployment of acme/secret, which nobody but admins may read."""
    release = await add_release(pages.services.sessions, "secret-1", repository="acme/secret")
    return await jobs.create_job(
        pages.services.sessions,
        jobs.NewJob(
            provider="github",
            repository="acme/secret",
            environment="production",
            release_id=release,
            requested_by_kind="operator",
            requested_by="cli:root",
            via="cli",
            spec={"release": {"name": "secret-1"}},
        ),
    )


async def state_of(pages: DeployPages, job_id: int) -> str:
    job = await jobs.get_job(pages.services.sessions, job_id)
    assert job is not None
    return job.state


# -- one deployment ------------------------------------------------------------------------


async def test_a_deployment_page_shows_the_job_its_waves_tasks_digests_and_logs(
    pages: DeployPages,
) -> None:
    first, second = await two_releases_on_staging(pages)
    rows = await tasks_of_job(pages.services, second.id or 0)
    pages.sign_in("reggie")
    page = await pages.client.get(f"/deployments/{second.id}")
    assert page.status_code == 200
    text = page.text
    assert '<span id="job-state" class="state completed">completed</span>' in text
    assert f'<a href="/releases/{second.release_id}">v2</a>' in text
    assert f'<th>Ran before</th><td><a href="/releases/{first.release_id}">v1</a>' in text
    assert "operator cli:tester, via cli" in text
    assert "0 of 0 required" in text
    assert 'href="/environments?repo=github%3Aacme%2Fweb#env-staging">staging</a>' in text
    assert text.index("<h3>wave 1: deploy to s1</h3>") < text.index("<h3>wave 2: deploy to s2</h3>")
    assert [(row.target, row.state) for row in rows] == [
        ("s1", TaskState.SUCCEEDED),
        ("s2", TaskState.SUCCEEDED),
    ]
    for row in rows:
        assert f'<span id="task-{row.id}-state" class="state succeeded">succeeded</span>' in text
        assert f'<td id="task-{row.id}-attempts">1</td>' in text
        log = await task_log(pages.services.sessions, row.id or 0)
        assert f"deploying web {digest_of('web-v2')} to {row.target}" in log
        assert f'<pre class="log" id="log-{row.id}">{escape(log)}</pre>' in text
    replaced = f"<code>{digest_of('web-v1')}</code> → <code>{digest_of('web-v2')}</code>"
    assert text.count(replaced) == 2
    assert "EventSource" not in text  # it has ended: nothing live, nothing refreshes
    assert 'http-equiv="refresh"' not in text
    for action in ("approve", "cancel", "rollback"):
        assert f"/deployments/{second.id}/{action}" not in text  # a reader may do none
    assert page.headers["cache-control"] == "private, no-store"


async def test_the_artifacts_are_listed_and_download_as_stored(pages: DeployPages) -> None:
    first, second = await two_releases_on_staging(pages)
    stored = await jobs.artifacts_of(pages.services.sessions, second.id or 0)
    assert [artifact.filename for artifact in stored] == ["shipyard.manifest.json"]
    [artifact] = stored
    pages.sign_in("reggie")
    page = (await pages.client.get(f"/deployments/{second.id}")).text
    link = f"/deployments/{second.id}/artifacts/{artifact.id}"
    assert f'<a href="{link}" download>shipyard.manifest.json</a>' in page
    assert f"<code>{artifact.sha256}</code>" in page
    download = await pages.client.get(link)
    assert download.status_code == 200
    assert download.content == artifact.content.encode()
    assert hashlib.sha256(download.content).hexdigest() == artifact.sha256
    assert digest_of("web-v2") in download.text
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert (
        download.headers["content-disposition"] == 'attachment; filename="shipyard.manifest.json"'
    )
    # Another deployment's file is not this one's.
    elsewhere = await pages.client.get(f"/deployments/{first.id}/artifacts/{artifact.id}")
    assert elsewhere.status_code == 404


def test_waves_are_described_in_words_from_real_plans() -> None:
    rolling = plan_waves(Rolling(parallelism=2), ["a", "b", "c"], Previous())
    canary = plan_waves(Canary(canary=1, bake="90s"), ["p1", "p2", "p3"], Previous())
    blue_green = plan_waves(
        BlueGreen(blue=("b1",), green=("g1",), switch={"command": "true"}),
        ["b1", "g1"],
        Previous(live_colour="blue"),
    )
    described = [
        [describe_wave(index, wave.as_json()) for index, wave in enumerate(plan.waves)]
        for plan in (rolling, canary, blue_green)
    ]
    assert described == [
        ["wave 1: deploy to a, b, c, 2 at a time"],
        ["wave 1: deploy to p1", "wave 2: bake on p1 for 1m 30s", "wave 3: deploy to p2, p3"],
        ["wave 1: deploy to g1", "wave 2: switch to green"],
    ]
    assert describe_wave(0, {"kind": "bake", "targets": ["x"], "bake_seconds": 300}) == (
        "wave 1: bake on x for 5m"
    )
    assert describe_wave(3, {"kind": "rollback", "targets": ["s1", "s2"]}) == (
        "wave 4: roll back s1, s2"
    )


async def test_a_deployment_nobody_may_read_is_like_one_that_does_not_exist(
    pages: DeployPages,
) -> None:
    secret = await hidden_job(pages)
    pages.sign_in("reggie")
    denied = await pages.client.get(f"/deployments/{secret.id}")
    missing = await pages.client.get("/deployments/999999")
    assert (denied.status_code, missing.status_code) == (404, 404)
    assert denied.text == missing.text.replace("999999", str(secret.id))
    assert "acme/secret" not in denied.text
    for path in ("events", "artifacts/1"):
        assert (await pages.client.get(f"/deployments/{secret.id}/{path}")).status_code == 404
    assert (await pages.client.get("/deployments/not-a-number")).status_code == 404
    pages.sign_in("boss")  # an admin reads everything
    shown = await pages.client.get(f"/deployments/{secret.id}")
    assert shown.status_code == 200
    assert "acme/secret" in shown.text


async def test_every_deployment_page_asks_for_sign_in(pages: DeployPages) -> None:
    job = await awaiting_approval(pages)
    paths = ["/deployments", f"/deployments/{job.id}", f"/deployments/{job.id}/events"]
    for path in [*paths, "/environments?repo=github:acme/web"]:
        answer = await pages.client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=")
    for action in ("approve", "cancel", "rollback"):
        answer = await pages.client.post(f"/deployments/{job.id}/{action}")
        assert answer.status_code == 303
    assert await state_of(pages, job.id or 0) == JobState.AWAITING_APPROVAL


# -- the buttons ----------------------------------------------------------------------------


def forms_of(text: str, job_id: int) -> set[str]:
    return {
        action
        for action in ("approve", "cancel", "rollback")
        if f'action="/deployments/{job_id}/{action}"' in text
    }


async def test_which_buttons_each_viewer_gets(pages: DeployPages) -> None:
    waiting = await awaiting_approval(pages)
    older, live = await two_releases_on_staging(pages)
    seen: dict[str, dict[str, set[str]]] = {}
    for login in ("maggie", "molly", "wanda", "reggie", "boss"):
        pages.sign_in(login)
        seen[login] = {}
        for name, job in (("waiting", waiting), ("older", older), ("live", live)):
            page = await pages.client.get(f"/deployments/{job.id}")
            seen[login][name] = forms_of(page.text, job.id or 0)
            if name == "waiting" and login == "maggie":
                assert "You asked for this deployment" in page.text
    assert seen == {
        # The requester may cancel, not approve; people who may write cancel and roll back;
        # a reader may only approve (where the gate then asks their role).
        "maggie": {"waiting": {"cancel"}, "older": set(), "live": {"rollback"}},
        "molly": {"waiting": {"approve", "cancel"}, "older": set(), "live": {"rollback"}},
        "wanda": {"waiting": {"approve", "cancel"}, "older": set(), "live": {"rollback"}},
        "reggie": {"waiting": {"approve"}, "older": set(), "live": set()},
        "boss": {"waiting": {"approve", "cancel"}, "older": set(), "live": {"rollback"}},
    }


async def test_a_form_without_the_sessions_token_is_refused(pages: DeployPages) -> None:
    waiting = await awaiting_approval(pages)
    _, live = await two_releases_on_staging(pages)
    pages.sign_in("molly")
    for job, action in ((waiting, "approve"), (waiting, "cancel"), (live, "rollback")):
        for form in ({}, {"csrf": "forged"}):
            answer = await pages.client.post(f"/deployments/{job.id}/{action}", data=form)
            assert answer.status_code == 403
            assert "That form is out of date" in answer.text
    assert await state_of(pages, waiting.id or 0) == JobState.AWAITING_APPROVAL
    assert len(await jobs.list_jobs(pages.services.sessions)) == 3  # no rollback made


async def test_the_requester_may_not_approve_and_another_maintainer_moves_it_on(
    pages: DeployPages,
) -> None:
    job = await awaiting_approval(pages)
    session = pages.sign_in("maggie")
    own = await pages.client.post(f"/deployments/{job.id}/approve", data={"csrf": session.csrf})
    assert own.status_code == 403
    assert "github:maggie asked for this deployment and may not approve it too" in html.unescape(
        own.text
    )
    session = pages.sign_in("reggie")
    reader = await pages.client.post(f"/deployments/{job.id}/approve", data={"csrf": session.csrf})
    assert reader.status_code == 403
    assert "it needs maintain" in html.unescape(reader.text)
    assert await jobs.approvals_of(pages.services.sessions, job.id or 0) == []

    session = pages.sign_in("molly")
    approved = await pages.client.post(
        f"/deployments/{job.id}/approve", data={"csrf": session.csrf}
    )
    assert (approved.status_code, approved.headers["location"]) == (303, f"/deployments/{job.id}")
    assert await settled(pages, job.id or 0) == JobState.COMPLETED
    approvals = await jobs.approvals_of(pages.services.sessions, job.id or 0)
    assert [(a.host, a.login) for a in approvals] == [("github", "molly")]
    page = (await pages.client.get(f"/deployments/{job.id}")).text
    assert "1 of 1 required: github:molly" in page
    assert "approve" not in forms_of(page, job.id or 0)


async def test_cancel_needs_write_access(pages: DeployPages) -> None:
    job = await awaiting_approval(pages)
    session = pages.sign_in("reggie")
    refused = await pages.client.post(f"/deployments/{job.id}/cancel", data={"csrf": session.csrf})
    assert refused.status_code == 403
    assert "needs write access" in refused.text
    assert await state_of(pages, job.id or 0) == JobState.AWAITING_APPROVAL

    session = pages.sign_in("wanda")
    cancelled = await pages.client.post(
        f"/deployments/{job.id}/cancel", data={"csrf": session.csrf}
    )
    assert (cancelled.status_code, cancelled.headers["location"]) == (303, f"/deployments/{job.id}")
    after = await jobs.get_job(pages.services.sessions, job.id or 0)
    assert after is not None
    assert (after.state, after.error) == (JobState.CANCELLED, "cancelled by github:wanda")
    again = await pages.client.post(f"/deployments/{job.id}/cancel", data={"csrf": session.csrf})
    assert again.status_code == 403
    assert "there is nothing to cancel" in again.text  # the gate's word
    assert forms_of((await pages.client.get(f"/deployments/{job.id}")).text, job.id or 0) == set()


async def test_roll_back_makes_a_rollback_job_of_the_live_deployment(pages: DeployPages) -> None:
    older, live = await two_releases_on_staging(pages)
    session = pages.sign_in("reggie")
    reader = await pages.client.post(
        f"/deployments/{live.id}/rollback", data={"csrf": session.csrf}
    )
    assert reader.status_code == 403
    session = pages.sign_in("wanda")
    stale = await pages.client.post(
        f"/deployments/{older.id}/rollback", data={"csrf": session.csrf}
    )
    assert stale.status_code == 409
    assert "is not what runs in staging now" in stale.text
    assert len(await jobs.list_jobs(pages.services.sessions)) == 2

    answer = await pages.client.post(
        f"/deployments/{live.id}/rollback", data={"csrf": session.csrf}
    )
    assert answer.status_code == 303
    made = (await jobs.list_jobs(pages.services.sessions, limit=1))[0]
    assert answer.headers["location"] == f"/deployments/{made.id}"
    assert (made.kind, made.release_id, made.rollback_of, made.via, made.requested_by) == (
        JobKind.ROLLBACK,
        older.release_id,
        live.id,
        "page",
        "github:wanda",
    )
    assert await settled(pages, made.id or 0) == JobState.COMPLETED
    page = (await pages.client.get(f"/deployments/{made.id}")).text
    assert "Rollback <small>" in page
    assert f'<a href="/deployments/{live.id}">deployment {live.id}</a>' in page
    # Now v1 runs again: the v2 deployment is no longer live, and offers no rollback.
    assert forms_of((await pages.client.get(f"/deployments/{live.id}")).text, live.id or 0) == set()


async def test_open_pages_cannot_approve_and_cancel_as_the_operator(
    migrated: str, tmp_path: Path
) -> None:
    async with deployment_pages(migrated, PagesHost(CONFIG), sign_in=False) as pages:
        await register(pages.services, "p1", command_target(ECHO))
        job = await awaiting_approval(pages)
        page = await pages.client.get(f"/deployments/{job.id}")
        assert page.status_code == 200
        assert "nobody can approve here" in page.text
        assert forms_of(page.text, job.id or 0) == {"cancel"}
        approve = await pages.client.post(f"/deployments/{job.id}/approve")
        assert approve.status_code == 403
        assert "approvals are given by people signed in with a host" in html.unescape(approve.text)
        foreign = await pages.client.post(
            f"/deployments/{job.id}/cancel", headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        assert await state_of(pages, job.id or 0) == JobState.AWAITING_APPROVAL
        cancelled = await pages.client.post(f"/deployments/{job.id}/cancel")
        assert cancelled.status_code == 303
        after = await jobs.get_job(pages.services.sessions, job.id or 0)
        assert after is not None
        assert (after.state, after.error) == (JobState.CANCELLED, "cancelled by cli:pages")


# -- live -----------------------------------------------------------------------------------


async def test_the_event_stream_sends_states_and_new_lines_as_they_come_and_ends_with_the_job(
    pages: DeployPages, tmp_path: Path
) -> None:
    release = await ready_release(pages.services.sessions, "v1")
    job = await promote(pages.services, Promotion(release, "live", OPERATOR, via="cli"))
    pages.sign_in("reggie")
    events: list[Event] = []
    async with pages.client.stream("GET", f"/deployments/{job.id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = read_events(response.aiter_lines())

        async def read_until(done: Callable[[Event], bool]) -> None:
            async for event in stream:
                events.append(event)
                if done(event):
                    return
            raise AssertionError(f"the stream ended first: {events}")

        await read_until(lambda event: event.kind == "job")
        (tmp_path / "go").touch()
        await read_until(lambda event: event.kind == "log" and "line 2" in event.data["lines"])
        # The script waits for `more`: the lines came while the task was still running.
        [running] = await tasks_of_job(pages.services, job.id or 0)
        assert running.state == TaskState.RUNNING
        assert "end" not in [event.kind for event in events]
        (tmp_path / "more").touch()
        async for event in stream:
            events.append(event)
    [task] = await tasks_of_job(pages.services, job.id or 0)
    stored = await task_log(pages.services.sessions, task.id or 0)
    mine = [e for e in events if task.id in (e.data.get("task"), e.data.get("id"))]
    lines = [line for e in mine if e.kind == "log" for line in e.data["lines"]]
    assert "".join(f"{line}\n" for line in lines) == stored  # every line once, in order
    assert [line for line in lines if line.startswith("line ")] == [
        "line 1 <b>t1</b>",
        "line 2",
        "line 3",
    ]
    states = [e.data["state"] for e in mine if e.kind == "task"]
    assert states[-1] == TaskState.SUCCEEDED
    assert TaskState.RUNNING in states
    assert mine[-1].kind == "task"  # it succeeded after its last line
    assert [e.data["state"] for e in events if e.kind == "job"][-1] == JobState.COMPLETED
    assert (events[-2].kind, events[-1].kind, events[-1].data) == (
        "job",
        "end",
        {"state": "completed"},
    )
    last_log = [e for e in events if e.kind == "log"][-1]
    assert last_log.id == f"{task.id}:{len(stored)}"

    # A browser reconnecting carries on from the last event's id: no line twice.
    async with pages.client.stream(
        "GET", f"/deployments/{job.id}/events", headers={"Last-Event-ID": last_log.id or ""}
    ) as response:
        again = [event async for event in read_events(response.aiter_lines())]
    assert [event.kind for event in again] == ["task", "job", "end"]
    # The page hands its own offsets over: the lines it shows are not sent again.
    page = (await pages.client.get(f"/deployments/{job.id}")).text
    assert f'<pre class="log" id="log-{task.id}">{escape(stored)}</pre>' in page


async def test_a_client_that_goes_away_ends_its_stream(pages: DeployPages) -> None:
    job = await awaiting_approval(pages)
    pages.sign_in("reggie")
    async with pages.client.stream("GET", f"/deployments/{job.id}/events") as response:
        first = await anext(read_events(response.aiter_lines()))
        assert (first.kind, first.data["state"]) == ("job", JobState.AWAITING_APPROVAL)
        assert live_streams() == 1

    def stream_ended() -> bool:
        return live_streams() == 0

    await eventually(stream_ended)


async def test_the_stream_of_a_live_page_starts_after_what_the_page_shows(
    pages: DeployPages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deployment_events, "MAX_STREAM_SECONDS", 0.0)  # one read, then reconnect
    _, live = await two_releases_on_staging(pages)
    [s1, s2] = await tasks_of_job(pages.services, live.id or 0)
    await jobs.touch_job(pages.services.sessions, live.id or 0, state=JobState.RUNNING)
    pages.sign_in("reggie")
    page = (await pages.client.get(f"/deployments/{live.id}")).text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    one = len(await task_log(pages.services.sessions, s1.id or 0))
    two = len(await task_log(pages.services.sessions, s2.id or 0))
    offsets = urlencode({"offsets": f"{s1.id}:{one}.{s2.id}:{two}"})
    url = f"/deployments/{live.id}/events?{offsets}"
    assert f'data-events="{escape(url)}"' in page
    async with pages.client.stream("GET", url) as response:
        sent = [event async for event in read_events(response.aiter_lines())]
    assert [event.kind for event in sent] == ["job", "task", "task"]  # no log lines again


# -- lists and environments -------------------------------------------------------------------


async def test_the_list_shows_readable_deployments_newest_first(pages: DeployPages) -> None:
    secret = await hidden_job(pages)
    older, newer = await two_releases_on_staging(pages)
    waiting = await awaiting_approval(pages)
    pages.sign_in("reggie")
    listed = await pages.client.get("/deployments")
    assert listed.status_code == 200
    text = listed.text
    positions = [text.index(f'<a href="/deployments/{job.id}">') for job in (waiting, newer, older)]
    assert positions == sorted(positions)
    assert f'href="/deployments/{secret.id}"' not in text
    assert "acme/secret" not in text
    assert "cli:tester" in text
    assert "github:maggie" in text
    assert '<span class="state awaiting_approval">' in text
    one = await pages.client.get(
        "/deployments", params={"repo": "github:acme/web", "env": "staging"}
    )
    assert f'href="/deployments/{waiting.id}"' not in one.text
    assert f'href="/deployments/{newer.id}"' in one.text
    pages.sign_in("boss")
    assert f'href="/deployments/{secret.id}"' in (await pages.client.get("/deployments")).text


async def test_environments_say_what_runs_where(pages: DeployPages) -> None:
    await hidden_job(pages)
    older, live = await two_releases_on_staging(pages)
    waiting = await awaiting_approval(pages)
    pages.sign_in("reggie")
    answers = [
        await pages.client.get("/environments", params={key: "github:acme/web"})
        for key in ("repo", "repository")
    ]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].text == answers[1].text
    text = answers[0].text
    staging = text[text.index('<section id="env-staging">') :]
    production = text[text.index('<section id="env-production">') :]
    staging = staging[: staging.index("</section>")]
    production = production[: production.index("</section>")]
    assert f'Live: <a href="/releases/{live.release_id}">v2</a>' in staging
    for target in ("s1", "s2"):
        release = f'<td><a href="/releases/{live.release_id}">v2</a></td>'
        row = f"<td>{target}</td>\n    <td>web</td>\n    {release}"
        assert row in staging
    assert staging.count(f"<code>{digest_of('web-v2')}</code>") == 2
    assert f'<a href="/deployments/{older.id}">{older.id}</a>' in staging
    assert "Live: nothing yet" in production
    assert f'<a href="/deployments/{waiting.id}">deployment {waiting.id}</a>: p-1' in production
    assert 'href="/deployments?repo=github%3Aacme%2Fweb"' in text

    chooser = await pages.client.get("/environments")
    assert 'name="repo"' in chooser.text
    assert 'href="/environments?repo=github%3Aacme%2Fweb">github: acme/web</a>' in chooser.text
    assert "acme/secret" not in chooser.text
    denied = await pages.client.get("/environments", params={"repo": "github:acme/secret"})
    unknown = await pages.client.get("/environments", params={"repo": "github:acme/nothing"})
    assert (denied.status_code, unknown.status_code) == (404, 404)
    assert denied.text == unknown.text.replace("acme/nothing", "acme/secret")
    pages.sign_in("boss")
    assert "github: acme/secret" in (await pages.client.get("/environments")).text


async def test_a_release_page_says_where_it_is_live(pages: DeployPages) -> None:
    older, live = await two_releases_on_staging(pages)
    pages.sign_in("reggie")
    now = (await pages.client.get(f"/releases/{live.release_id}")).text
    assert (
        'Live in <a href="/environments?repo=github%3Aacme%2Fweb#env-staging">staging</a>.' in now
    )
    before = (await pages.client.get(f"/releases/{older.release_id}")).text
    assert "Not live in any environment" in before
    assert '<a href="/environments?repo=github%3Aacme%2Fweb">What runs where</a>' in before


HOSTILE = "<script>alert('owned')</script>"


async def test_what_people_wrote_is_escaped(pages: DeployPages) -> None:
    release = await add_release(pages.services.sessions, HOSTILE, repository="acme/web")
    job = await jobs.create_job(
        pages.services.sessions,
        jobs.NewJob(
            provider="github",
            repository="acme/web",
            environment=HOSTILE[:100],
            release_id=release,
            requested_by_kind="person",
            requested_by=HOSTILE,
            via="cli",
            spec={"release": {"name": HOSTILE}},
            params={HOSTILE: HOSTILE},
        ),
    )
    await jobs.touch_job(pages.services.sessions, job.id or 0, state=JobState.FAILED, error=HOSTILE)
    pages.sign_in("boss")
    for path in (
        f"/deployments/{job.id}",
        "/deployments",
        "/environments?repo=github:acme/web",
    ):
        page = await pages.client.get(path)
        assert page.status_code == 200, path
        assert "<script" not in page.text, path
        assert str(escape(HOSTILE)) in page.text, path
    async with pages.client.stream("GET", f"/deployments/{job.id}/events") as response:
        sent = [event async for event in read_events(response.aiter_lines())]
    assert sent[0].data == {"state": "failed", "error": HOSTILE}  # JSON, for textContent
