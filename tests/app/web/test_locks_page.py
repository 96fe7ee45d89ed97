"""The locks page: the locks held now, behind the sign-in door, showing only those of the
repositories the viewer may read (an admin reads them all), narrowed by `?repo=`, with how
long each has left; what people wrote in a reason is escaped."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from markupsafe import escape

from app.environments.locks import release_lock, take_lock
from tests.support.deploy_pages import DeployPages, PagesHost, deployment_pages

CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  staging:
    targets: [s1]
"""
HOUR = 3600.0
HOSTILE = "<script>alert('owned')</script>"


@pytest.fixture
async def pages(migrated: str) -> AsyncIterator[DeployPages]:
    async with deployment_pages(migrated, PagesHost(CONFIG)) as pages:
        yield pages


async def lock(
    pages: DeployPages,
    repository: str,
    environment: str | None,
    holder: str,
    *,
    reason: str | None = None,
    pr: int | None = None,
    ttl: float = HOUR,
) -> int:
    taken = await take_lock(
        pages.services.sessions,
        provider="github",
        repository=repository,
        environment=environment,
        holder=holder,
        reason=reason,
        pr_number=pr,
        ttl_seconds=ttl,
    )
    assert taken.won
    assert taken.lock.id is not None
    return taken.lock.id


def row_of(text: str, lock_id: int) -> str:
    start = text.index(f'<tr id="lock-{lock_id}">')
    return text[start : text.index("</tr>", start)]


def cells_of(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]


async def test_the_page_asks_for_sign_in(pages: DeployPages) -> None:
    await lock(pages, "acme/web", "staging", "github:maggie")
    for path in ("/locks", "/locks?repo=github:acme/web"):
        answer = await pages.client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=")


async def test_no_lock_held(pages: DeployPages) -> None:
    pages.sign_in("reggie")
    page = await pages.client.get("/locks")
    assert page.status_code == 200
    assert "No environment is locked." in page.text
    assert "<table>" not in page.text


async def test_a_viewer_sees_the_locks_of_what_they_may_read(pages: DeployPages) -> None:
    production = await lock(
        pages,
        "acme/web",
        "production",
        "github:maggie",
        reason="db migration",
        pr=12,
        ttl=30 * HOUR,
    )
    everywhere = await lock(pages, "acme/web", None, "cli:root", reason="freeze")
    secret = await lock(pages, "acme/secret", "production", "github:boss")
    other = await lock(pages, "acme/api", "staging", "github:wanda")
    released = await lock(pages, "acme/api", "production", "github:wanda")
    await release_lock(
        pages.services.sessions,
        provider="github",
        repository="acme/api",
        environment="production",
        by="github:wanda",
    )

    pages.sign_in("reggie")
    page = await pages.client.get("/locks")
    assert page.status_code == 200
    text = page.text
    assert page.headers["cache-control"] == "private, no-store"
    assert "acme/secret" not in text
    assert f'id="lock-{secret}"' not in text
    assert f'id="lock-{released}"' not in text
    positions = [text.index(f'id="lock-{n}"') for n in (other, everywhere, production)]
    assert positions == sorted(positions)
    cells = cells_of(row_of(text, production))
    assert cells[:4] == ["github: acme/web", "production", "github:maggie", "db migration (#12)"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", cells[4])
    assert re.fullmatch(r"29 h \d+ min left", cells[5]), cells[5]
    assert cells_of(row_of(text, everywhere))[1:4] == ["every environment", "cli:root", "freeze"]
    assert re.fullmatch(r"\d+ min left", cells_of(row_of(text, everywhere))[5])
    assert cells_of(row_of(text, other))[3] == "—"

    one = await pages.client.get("/locks", params={"repo": "github:acme/web"})
    assert f'id="lock-{other}"' not in one.text
    assert f'id="lock-{production}"' in one.text
    assert 'href="/environments?repo=github%3Aacme%2Fweb"' in one.text
    hidden = await pages.client.get("/locks", params={"repo": "github:acme/secret"})
    assert hidden.status_code == 200
    assert "No environment is locked." in hidden.text
    assert f'id="lock-{secret}"' not in hidden.text

    pages.sign_in("boss")  # an admin reads every repository's
    every = (await pages.client.get("/locks")).text
    for lock_id in (production, everywhere, secret, other):
        assert f'id="lock-{lock_id}"' in every
    assert f'id="lock-{released}"' not in every


async def test_what_people_wrote_is_escaped(pages: DeployPages) -> None:
    held = await lock(pages, "acme/web", HOSTILE[:100], HOSTILE, reason=HOSTILE)
    pages.sign_in("boss")
    page = await pages.client.get("/locks")
    assert page.status_code == 200
    assert "<script" not in page.text
    row = row_of(page.text, held)
    assert row.count(str(escape(HOSTILE))) == 3
