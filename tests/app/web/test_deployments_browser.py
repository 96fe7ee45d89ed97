"""A deployment's page in a real browser: Chromium, signed in, watches a running job — its log
lines appear as the target prints them, without the page reloading, and its state reaches
completed; without JavaScript the page refreshes itself until the job has ended."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.auth.sealed import SESSION_COOKIE
from app.db.models.deployments import DeploymentJob, TaskState
from app.environments.promotion import Promotion, promote
from tests.support.browser import chromium, require_browser
from tests.support.deploy_pages import DeployPages, PagesHost, deployment_pages
from tests.support.deploying import OPERATOR, command_target, ready_release, register, tasks_of
from tests.support.waiting import eventually

CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  live:
    targets: [t1]
"""
WAIT = 20_000  # ms: how long the browser's assertions wait for the page to show it


def gated_script(directory: Path) -> str:
    """Starts once `go` is there: a line with markup, a second, then (once `more` is there)
    a third."""
    return (
        f"for i in $(seq 400); do [ -e {directory}/go ] && break; sleep 0.05; done\n"
        'echo "line 1 <b>$SHIPYARD_TARGET</b>"\n'
        "sleep 0.3\n"
        'echo "line 2"\n'
        f"for i in $(seq 400); do [ -e {directory}/more ] && break; sleep 0.05; done\n"
        'echo "line 3"\n'
    )


@pytest.fixture
async def pages(migrated: str, tmp_path: Path) -> AsyncIterator[DeployPages]:
    require_browser()
    async with deployment_pages(migrated, PagesHost(CONFIG)) as pages:
        await register(pages.services, "t1", command_target(gated_script(tmp_path)))
        pages.sign_in("reggie")
        yield pages


async def running_job(pages: DeployPages) -> tuple[DeploymentJob, int]:
    """A job whose one task runs (its script waiting for `go`), and that task's id."""
    release = await ready_release(pages.services.sessions, "v1")
    job = await promote(pages.services, Promotion(release, "live", OPERATOR, via="cli"))

    async def task_is_running() -> bool:
        rows = await tasks_of(pages.services, job.id or 0)
        return bool(rows) and rows[0].state == TaskState.RUNNING

    await eventually(task_is_running)
    [task] = await tasks_of(pages.services, job.id or 0)
    return job, task.id or 0


async def signed_in_context(chrome: Any, pages: DeployPages, **options: Any) -> Any:
    context = await chrome.new_context(**options)
    cookie = pages.client.cookies[SESSION_COOKIE]
    await context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": pages.url}])
    return context


async def test_log_lines_appear_without_reloading_and_the_job_completes(
    pages: DeployPages, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    job, task_id = await running_job(pages)
    async with chromium() as chrome:
        context = await signed_in_context(chrome, pages)
        page = await context.new_page()
        await page.goto(f"{pages.url}/deployments/{job.id}")
        await expect(page.locator("#job-state")).to_have_text("running")
        await page.evaluate("window.stillThisPage = true")
        log = page.locator(f"#log-{task_id}")
        assert "line 1" not in await log.inner_text()

        (tmp_path / "go").touch()
        await expect(log).to_contain_text("line 1 <b>t1</b>", timeout=WAIT)
        await expect(log).to_contain_text("line 2", timeout=WAIT)
        assert await log.locator("b").count() == 0  # the line's text, never its markup
        await expect(page.locator(f"#task-{task_id}-state")).to_have_text("running")

        (tmp_path / "more").touch()
        await expect(page.locator("#job-state")).to_have_text("completed", timeout=WAIT)
        await expect(page.locator(f"#task-{task_id}-state")).to_have_text("succeeded")
        await expect(log).to_contain_text("line 3")
        await expect(page.locator("[data-once-ended]")).to_be_visible()
        assert await page.evaluate("window.stillThisPage === true")  # never reloaded
        text = await log.inner_text()
        assert text.index("line 1") < text.index("line 2") < text.index("line 3")
        assert text.count("line 2") == 1
        await context.close()


async def test_without_javascript_the_page_refreshes_until_the_job_ends(
    pages: DeployPages, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    job, task_id = await running_job(pages)
    async with chromium() as chrome:
        context = await signed_in_context(chrome, pages, java_script_enabled=False)
        page = await context.new_page()
        await page.goto(f"{pages.url}/deployments/{job.id}")
        assert "line 1" not in await page.locator(f"#log-{task_id}").inner_text()
        (tmp_path / "go").touch()
        (tmp_path / "more").touch()
        await expect(page.locator("#job-state")).to_have_text("completed", timeout=WAIT)
        await expect(page.locator(f"#log-{task_id}")).to_contain_text("line 3")
        assert 'http-equiv="refresh"' not in await page.content()  # ended: it stops
        await context.close()
