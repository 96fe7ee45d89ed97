"""The releases' pages: the list and one release, with what a reader needs (components and
digests, source and commits linked to the host, who made it), escaped, and shown only to those
who may read the repository."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest
from markupsafe import escape

from providers.vocabulary import Permission
from tests.support.oauth import add_delivery
from tests.support.pages import Pages, signed_in_pages
from tests.support.releases import add_release, digest_of, sha_of


@pytest.fixture
async def pages(migrated: str) -> AsyncIterator[Pages]:
    answers = {("acme/web", "octocat"): Permission.READ, ("acme/api", "octocat"): Permission.NONE}
    async with signed_in_pages(migrated, admins="github:boss", answers=answers) as pages:
        yield pages


def component(name: str, image: str, tag: str | None, digest: str) -> dict[str, str | None]:
    return {"name": name, "image": image, "tag": tag, "digest": digest}


WEB = digest_of("web image")
WORKER = digest_of("worker image")


async def test_a_release_page_shows_components_source_creator_and_commits(pages: Pages) -> None:
    old, new = sha_of("old"), sha_of("new")
    between = [sha_of("first"), sha_of("second"), new]
    previous = await add_release(pages.sessions, "v1.0.0", commit_sha=old, state="ready")
    delivery = await add_delivery(pages.app, normalised={"repository": {"full_name": "acme/web"}})
    release = await add_release(
        pages.sessions,
        "v1.1.0",
        state="ready",
        commit_sha=new,
        tag="v1.1.0",
        branch="main",
        source_url="https://github.com/acme/web/tree/v1.1.0",
        components=[
            component("web", "registry.example.com/acme/web", "v1.1.0", WEB),
            component("worker", "registry.example.com/acme/worker", None, WORKER),
        ],
        build={
            "build_id": "12345",
            "build_url": "https://ci.example.com/builds/12345",
            "triggered_by": "ci-pipeline",
            "test_results": {"passed": 41, "failed": 0, "skipped": 2},
        },
        created_by_kind="delivery",
        created_by="d-77",
        delivery_pk=delivery,
        previous_id=previous,
        commits=between,
        commits_more=4,
        announced=True,
    )
    pages.sign_in("github", "octocat")
    page = await pages.client.get(f"/releases/{release}")
    assert page.status_code == 200
    text = page.text
    assert "v1.1.0" in text
    assert "version 1.1.0" in text
    assert '<span class="state ready">ready</span>' in text
    for cell in ("registry.example.com/acme/web", "registry.example.com/acme/worker", WEB, WORKER):
        assert f"<code>{cell}</code>" in text
    assert f'<a href="https://github.com/acme/web/commit/{new}">{new}</a>' in text
    assert '<a href="https://github.com/acme/web/tree/v1.1.0">v1.1.0</a>' in text
    assert f'<a href="/deliveries/{delivery}">delivery</a>' in text
    assert '<a href="https://ci.example.com/builds/12345">' in text
    assert "ci-pipeline" in text
    assert "passed: 41 · failed: 0 · skipped: 2" in text
    for sha in between:
        assert f'<a href="https://github.com/acme/web/commit/{sha}">{sha}</a>' in text
    assert "and 4 more" in text
    assert f'<a href="/releases/{previous}">v1.0.0</a>' in text
    assert "Where it runs" in text
    assert "Not live in any environment" in text
    assert page.headers["cache-control"] == "private, no-store"

    first = await pages.client.get(f"/releases/{previous}")
    assert "first release" not in first.text  # not announced yet: nothing said about commits
    assert "Not read from the host yet" in first.text


async def test_a_gitlab_release_links_to_gitlab_and_says_who_made_it(pages: Pages) -> None:
    sha = sha_of("gitlab")
    release = await add_release(
        pages.sessions,
        "app-7",
        provider="gitlab",
        repository="group/sub/app",
        commit_sha=sha,
        tag="release/7",
        created_by_kind="cli",
        created_by="alice",
        announced=True,
    )
    pages.sign_in("github", "boss")
    page = await pages.client.get(f"/releases/{release}")
    assert page.status_code == 200
    assert f'href="https://gitlab.com/group/sub/app/-/commit/{sha}"' in page.text
    assert 'href="https://gitlab.com/group/sub/app/-/tags/release/7"' in page.text
    assert "alice, on the command line" in page.text
    assert "pins its commit" in page.text  # no components
    assert "first release" in page.text


HOSTILE = "<script>alert('owned')</script>"


async def test_what_people_and_ci_wrote_is_escaped_and_never_a_script_link(pages: Pages) -> None:
    release = await add_release(
        pages.sessions,
        HOSTILE,
        version=HOSTILE,
        tag='v1"><img src=x onerror=alert(1)>',
        source_url="javascript:alert(document.cookie)",
        components=[{"name": HOSTILE, "image": "r.example.com/a/b", "digest": WEB}],
        build={
            "build_url": "javascript:alert(1)",
            "triggered_by": HOSTILE,
            "test_results": {HOSTILE: 1},
            HOSTILE: HOSTILE,
        },
        created_by=HOSTILE,
        error=HOSTILE,
        state="failed",
    )
    pages.sign_in("github", "boss")
    for path in (f"/releases/{release}", "/releases"):
        page = await pages.client.get(path)
        assert page.status_code == 200
        assert "<script>" not in page.text
        assert "<img" not in page.text
        assert 'href="javascript:' not in page.text
        assert str(escape(HOSTILE)) in page.text
    detail = await pages.client.get(f"/releases/{release}")
    assert "javascript:alert(document.cookie)" in detail.text  # shown as text, not a link
    assert detail.text.count(str(escape(HOSTILE))) >= 6


async def test_a_release_the_viewer_may_not_read_is_like_one_that_does_not_exist(
    pages: Pages,
) -> None:
    readable = await add_release(pages.sessions, "web-1", installation_id=9)
    hidden = await add_release(pages.sessions, "api-1", repository="acme/api")
    pages.sign_in("github", "octocat")
    assert (await pages.client.get(f"/releases/{readable}")).status_code == 200
    denied = await pages.client.get(f"/releases/{hidden}")
    missing = await pages.client.get("/releases/999")
    assert (denied.status_code, missing.status_code) == (404, 404)
    assert denied.text == missing.text.replace("999", str(hidden))
    assert "acme/api" not in denied.text
    assert ("github", 9, "acme/web", "octocat") in pages.host.asked
    assert (await pages.client.get("/releases/not-a-number")).status_code == 404


async def test_the_list_shows_only_readable_releases_newest_first(pages: Pages) -> None:
    await add_release(pages.sessions, "web-1")
    await add_release(pages.sessions, "api-1", repository="acme/api")
    await add_release(pages.sessions, "web-2")
    await add_release(pages.sessions, "lab-1", provider="gitlab", repository="acme/web")
    pages.sign_in("github", "octocat")
    listed = await pages.client.get("/releases")
    assert listed.status_code == 200
    text = listed.text
    assert text.index(">web-2<") < text.index(">web-1<")
    assert "api-1" not in text
    assert "lab-1" not in text  # a GitHub login says nothing of GitLab's acme/web
    assert "acme/api" not in text

    pages.sign_in("github", "boss")
    everything = (await pages.client.get("/releases")).text
    for name in ("web-1", "web-2", "api-1", "lab-1"):
        assert f">{name}<" in everything
    assert 'href="/releases?provider=github&amp;repository=acme%2Fapi"' in everything


async def test_the_list_of_one_repository_and_its_older_pages(pages: Pages) -> None:
    for n in range(51):
        await add_release(pages.sessions, f"web-{n}")
    await add_release(pages.sessions, "api-1", repository="acme/api")
    pages.sign_in("github", "boss")
    first = await pages.client.get("/releases", params={"repository": "acme/web"})
    assert first.status_code == 200
    assert "Releases of acme/web" in first.text
    assert "api-1" not in first.text
    assert ">web-50<" in first.text
    assert ">web-1<" in first.text
    assert ">web-0<" not in first.text
    older = first.text.split('<a href="/releases?')[-1].split('"')[0]
    second = await pages.client.get("/releases?" + html.unescape(older))
    assert ">web-0<" in second.text
    assert ">web-1<" not in second.text
    assert "Older releases" not in second.text
    empty = await pages.client.get("/releases", params={"repository": "acme/none"})
    assert "No releases yet" in empty.text


async def test_the_pages_ask_for_sign_in(pages: Pages) -> None:
    release = await add_release(pages.sessions)
    for path in ("/releases", f"/releases/{release}"):
        page = await pages.client.get(path)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=")
