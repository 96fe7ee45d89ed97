"""The live comment's body (pure): the job's marker, its progress, and earlier deployments'
comments folded under "Superseded", newest first, ten at most."""

from __future__ import annotations

from app.deployments.live_comment import (
    COMMENT_LIMIT,
    MAX_SUPERSEDED,
    live_body,
    superseded_by,
)


def headline(job_id: int, state: str) -> str:
    return (
        f"**Shipyard** · [deploy r{job_id} to staging](http://x/deployments/{job_id}) · **{state}**"
    )


def comment(job_id: int, state: str, previous: str | None = None) -> str:
    """The body job `job_id`'s comment has, written over `previous`."""
    return live_body(job_id, headline(job_id, state), superseded_by(job_id, previous))


def test_a_first_comment_is_the_job_and_its_progress() -> None:
    assert comment(7, "queued") == f"<!-- shipyard:job-7 -->\n{headline(7, 'queued')}"


def test_the_same_jobs_comment_is_rewritten_not_superseded() -> None:
    assert comment(7, "running", comment(7, "queued")) == comment(7, "running")


def test_another_jobs_comment_is_struck_through_under_superseded_and_kept_after() -> None:
    second = comment(8, "queued", comment(7, "completed"))
    assert second.startswith(f"<!-- shipyard:job-8 -->\n{headline(8, 'queued')}")
    assert f"- ~~{headline(7, 'completed')}~~" in second
    again = comment(8, "completed", second)  # its own comment, edited
    assert f"- ~~{headline(7, 'completed')}~~" in again
    lines = comment(9, "queued", again).splitlines()
    assert lines.index(f"- ~~{headline(8, 'completed')}~~") < lines.index(
        f"- ~~{headline(7, 'completed')}~~"
    )


def test_superseded_keeps_the_newest_ten() -> None:
    body = comment(1, "completed")
    for job_id in range(2, 15):
        body = comment(job_id, "completed", body)
    assert body.count("- ~~") == MAX_SUPERSEDED
    assert headline(13, "completed") in body
    assert headline(3, "completed") not in body


def test_a_comment_that_is_not_a_jobs_supersedes_nothing() -> None:
    assert superseded_by(2, "someone's own words") == []


def test_a_body_over_the_hosts_limit_is_cut() -> None:
    body = live_body(1, "x" * (COMMENT_LIMIT * 2))
    assert len(body) <= COMMENT_LIMIT
    assert body.endswith("(cut at the host's comment limit)")
