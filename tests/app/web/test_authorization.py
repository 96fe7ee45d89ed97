"""A page shows a run or a delivery only to someone who may read its repository on its host;
to anyone else it answers exactly like an id that does not exist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from app.auth.state import Auth
from app.main import create_app
from app.settings import Settings
from providers.vocabulary import Permission
from tests.support.clock import FakeClock
from tests.support.oauth import (
    SIGN_IN,
    Permissions,
    add_delivery,
    add_run,
    running_https,
    sign_in_as,
    use_permissions,
)
from tests.support.settings import make_settings


@dataclass
class Pages:
    app: Starlette
    settings: Settings
    client: httpx.AsyncClient
    host: Permissions
    clock: FakeClock

    def sign_in(self, host: str, login: str) -> None:
        sign_in_as(self.client, self.settings, host, login, now=self.clock.now)


@pytest.fixture
async def pages(migrated: str) -> AsyncIterator[Pages]:
    settings = make_settings(migrated, **SIGN_IN, SHIPYARD_ADMINS="gitlab:root, github:Boss")
    app = create_app(settings)
    clock = FakeClock()
    app.state.auth = Auth(settings, clock=clock.time)
    host = Permissions(
        {
            ("acme/web", "octocat"): Permission.READ,
            ("acme/web", "mallory"): Permission.NONE,
            ("acme/api", "octocat"): Permission.NONE,
        }
    )
    async with running_https(app) as client:
        use_permissions(app, host)
        yield Pages(app, settings, client, host, clock)


async def test_a_reader_sees_the_run(pages: Pages) -> None:
    run_id = await add_run(pages.app, installation_id=42)
    pages.sign_in("github", "octocat")
    page = await pages.client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert "github: acme/web" in page.text
    assert pages.host.asked == [("github", 42, "acme/web", "octocat")]


async def test_someone_who_may_not_read_gets_the_page_of_a_missing_id(pages: Pages) -> None:
    run_id = await add_run(pages.app)
    pages.sign_in("github", "mallory")
    denied = await pages.client.get(f"/runs/{run_id}")
    missing = await pages.client.get("/runs/999")
    assert (denied.status_code, missing.status_code) == (404, 404)
    assert denied.text == missing.text.replace("999", str(run_id))
    assert "acme/web" not in denied.text


async def test_a_gitlab_session_cannot_read_a_github_run(pages: Pages) -> None:
    run_id = await add_run(pages.app)
    pages.sign_in("gitlab", "octocat")  # the same name on another host is someone else
    page = await pages.client.get(f"/runs/{run_id}")
    assert page.status_code == 404
    assert pages.host.asked == []


async def test_admins_see_everything_without_asking(pages: Pages) -> None:
    github_run = await add_run(pages.app, repository="acme/api")
    gitlab_run = await add_run(pages.app, provider="gitlab", repository="group/sub/app")
    orphan = await add_delivery(pages.app, normalised=None)
    pages.sign_in("gitlab", "ROOT")
    answers = [
        await pages.client.get(path)
        for path in (f"/runs/{github_run}", f"/runs/{gitlab_run}", f"/deliveries/{orphan}")
    ]
    listed = await pages.client.get("/runs")
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert "acme/api" in listed.text
    assert "group/sub/app" in listed.text
    assert pages.host.asked == []


async def test_the_list_shows_only_runs_the_viewer_may_read(pages: Pages) -> None:
    await add_run(pages.app, pipeline="web-review")
    await add_run(pages.app, repository="acme/api", pipeline="api-review")
    await add_run(pages.app, provider="gitlab", pipeline="gitlab-review")
    await add_run(pages.app, pipeline="web-deploy")
    pages.sign_in("github", "octocat")
    listed = await pages.client.get("/runs")
    assert listed.status_code == 200
    assert "web-review" in listed.text
    assert "web-deploy" in listed.text
    assert "api-review" not in listed.text
    assert "gitlab-review" not in listed.text
    assert sorted(repo for _, _, repo, _ in pages.host.asked) == ["acme/api", "acme/web"]


async def test_a_delivery_is_read_through_the_repository_its_event_names(pages: Pages) -> None:
    readable = await add_delivery(
        pages.app, normalised={"repository": {"full_name": "acme/web"}, "installation_id": 7}
    )
    hidden = await add_delivery(pages.app, normalised={"repository": {"full_name": "acme/api"}})
    orphan = await add_delivery(pages.app, normalised={"kind": "ping", "repository": None})
    pages.sign_in("github", "octocat")
    answers = [await pages.client.get(f"/deliveries/{pk}") for pk in (readable, hidden, orphan)]
    missing = await pages.client.get("/deliveries/999")
    assert [answer.status_code for answer in answers] == [200, 404, 404]
    assert answers[1].text == missing.text.replace("999", str(hidden))
    assert ("github", 7, "acme/web", "octocat") in pages.host.asked


async def test_the_permission_is_kept_five_minutes_then_asked_again(pages: Pages) -> None:
    run_id = await add_run(pages.app)
    pages.sign_in("github", "octocat")
    for _ in range(3):
        assert (await pages.client.get(f"/runs/{run_id}")).status_code == 200
    assert len(pages.host.asked) == 1
    pages.clock.now += 299
    assert (await pages.client.get("/runs")).status_code == 200
    assert len(pages.host.asked) == 1
    pages.clock.now += 1
    pages.host.answers[("acme/web", "octocat")] = Permission.NONE  # access was taken away
    assert (await pages.client.get(f"/runs/{run_id}")).status_code == 404
    assert len(pages.host.asked) == 2
