"""GitHub sign-in in a real browser: Chromium opens a run's page on a Shipyard behind uvicorn,
is sent to a fake GitHub (also behind uvicorn, on loopback) to authorize, comes back signed in
and sees the run — Shipyard asking the fake, over HTTP, who the user is and whether they may
read the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.main import create_app
from tests.support import browser
from tests.support.browser import chromium, require_browser
from tests.support.http import free_port, serving
from tests.support.oauth import add_run
from tests.support.oauth_server import FakeGitHubOAuth
from tests.support.settings import make_settings

ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (a setting's value; nothing binds to it)


async def test_a_browser_signs_in_with_github_and_sees_the_run(
    migrated: str, tmp_path: Path
) -> None:
    require_browser()
    github = FakeGitHubOAuth("Iv1.browser", "browser-secret", server_token="ghp_server")
    github.readers.add(("acme/web", "octocat"))
    port = free_port()
    async with serving(github.app()) as github_url:
        settings = make_settings(
            migrated,
            # Bound (as far as Shipyard knows) beyond loopback: the pages need sign-in. The test
            # server itself listens on 127.0.0.1 only.
            SHIPYARD_HOST=ALL_INTERFACES,
            SHIPYARD_PUBLIC_URL=f"http://127.0.0.1:{port}",
            SHIPYARD_DATA_DIR=str(tmp_path),  # the session secret is made here
            GITHUB_API_URL=f"{github_url}/api/v3",
            GITHUB_TOKEN="ghp_server",
            GITHUB_OAUTH_CLIENT_ID=github.client_id,
            GITHUB_OAUTH_CLIENT_SECRET=github.client_secret,
        )
        app = create_app(settings)
        async with serving(app, port) as shipyard, chromium() as chrome:
            run_id = await add_run(app, repository="acme/web", pipeline="review")
            context = await chrome.new_context()
            page = await context.new_page()

            await page.goto(f"{shipyard}/runs/{run_id}")
            assert page.url == f"{shipyard}/login?next=%2Fruns%2F{run_id}"
            await page.click("text=Sign in with GitHub")
            await page.wait_for_url(f"{github_url}/login/oauth/authorize?*")
            assert "Authorize Shipyard for octocat" in await page.content()
            await page.click("#authorize")
            await page.wait_for_url(f"{shipyard}/runs/{run_id}")

            text = await page.inner_text("body")
            assert "github: acme/web" in text
            assert "github:octocat" in text
            [cookie] = [c for c in await context.cookies() if c["name"] == "shipyard_session"]
            assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (
                True,
                "Lax",
                False,  # http public URL
            )

            await page.click("text=Sign out")
            await page.wait_for_url(f"{shipyard}/login")
            await page.goto(f"{shipyard}/runs/{run_id}")
            assert page.url.startswith(f"{shipyard}/login?")
            await context.close()
    assert github.authorized == 1
    assert (tmp_path / "session-secret").stat().st_mode & 0o777 == 0o600


def test_without_a_browser_the_test_skips_but_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(browser, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium"):
        browser.require_browser()
    monkeypatch.setattr(browser, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI must run this test"):
        browser.require_browser()
