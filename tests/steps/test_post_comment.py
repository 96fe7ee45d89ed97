"""post_comment: one comment per marker, updated on retries, masked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from providers.errors import NotFound
from providers.vocabulary import Comment, Repo
from steps.base import StepFailed
from steps.post_comment import PostCommentConfig, step
from tests.support.steps import SHIPYARD, RecordingProvider, StepHarness


def posts(harness: StepHarness) -> list[str]:
    return [
        name for name, _ in harness.provider.calls if name in ("post_comment", "update_comment")
    ]


async def test_posts_once_with_the_marker(harness: StepHarness) -> None:
    outputs = await step.run(harness.context(name="report"), PostCommentConfig(body="Tests: ok"))

    assert harness.provider.comments == [
        Comment(id=100, body="<!-- shipyard:report -->\nTests: ok", author=SHIPYARD)
    ]
    assert outputs == {"comment_id": 100, "url": None, "number": 7}
    assert harness.recorded == {"comment_id": 100}
    assert harness.provider.calls[0][1][:2] == (Repo("acme/web"), 7)


async def test_header_body_and_footer_are_joined_by_blank_lines(harness: StepHarness) -> None:
    config = PostCommentConfig(
        header="## Plan\n", body="\nsome output\n", footer="_by Shipyard_", marker="plan"
    )
    await step.run(harness.context(), config)
    assert harness.provider.comments[0].body == (
        "<!-- shipyard:plan -->\n## Plan\n\nsome output\n\n_by Shipyard_"
    )


async def test_a_second_run_updates_the_same_comment(harness: StepHarness) -> None:
    await step.run(harness.context(), PostCommentConfig(body="first", marker="ci"))
    harness.recorded.clear()  # a new run: nothing recorded, found by its marker

    outputs = await step.run(harness.context(), PostCommentConfig(body="second", marker="ci"))

    assert posts(harness) == ["post_comment", "update_comment"]
    assert [c.body for c in harness.provider.comments] == ["<!-- shipyard:ci -->\nsecond"]
    assert outputs["comment_id"] == 100


async def test_a_retry_updates_the_recorded_comment_without_searching(
    harness: StepHarness, provider: RecordingProvider
) -> None:
    await step.run(harness.context(), PostCommentConfig(body="attempt 1"))

    async def no_search(*args: object, **kwargs: object) -> Comment | None:
        raise AssertionError("a retry must not search for the comment")

    provider.find_comment = no_search  # type: ignore[method-assign]
    outputs = await step.run(harness.context(attempt=2), PostCommentConfig(body="attempt 2"))

    assert posts(harness) == ["post_comment", "update_comment"]
    assert len(provider.comments) == 1
    assert provider.comments[0].body.endswith("attempt 2")
    assert outputs["comment_id"] == 100


async def test_a_recorded_comment_that_was_deleted_is_posted_again(
    harness: StepHarness, provider: RecordingProvider
) -> None:
    harness.recorded["comment_id"] = 555

    async def gone(repo: Repo, number: int, comment_id: int, body: str) -> Comment:
        raise NotFound("github", "PATCH", "/repos/acme/web/issues/comments/555", 404)

    provider.update_comment = gone  # type: ignore[method-assign]
    outputs = await step.run(harness.context(), PostCommentConfig(body="again"))

    assert outputs["comment_id"] == 100
    assert harness.recorded == {"comment_id": 100}


async def test_secrets_are_masked(harness: StepHarness) -> None:
    harness.secrets.append("ghp_secretvalue")
    await step.run(
        harness.context(),
        PostCommentConfig(header="token ghp_secretvalue", body="x ghp_secretvalue y"),
    )
    assert "ghp_secretvalue" not in harness.provider.comments[0].body
    assert "x *** y" in harness.provider.comments[0].body


async def test_number_overrides_and_no_pr_fails_clearly(harness: StepHarness) -> None:
    outputs = await step.run(
        harness.context(pr_number=None), PostCommentConfig(body="x", number=12)
    )
    assert outputs["number"] == 12

    with pytest.raises(StepFailed, match="needs a pull request"):
        await step.run(harness.context(pr_number=None), PostCommentConfig(body="x"))


@pytest.mark.parametrize("marker", ["a-->b", "x--", "<b>", "two\nlines", " "])
def test_markers_that_would_break_the_html_comment_are_refused(marker: str) -> None:
    with pytest.raises(ValidationError, match="marker"):
        PostCommentConfig(body="x", marker=marker)


async def test_a_step_name_unfit_as_marker_fails(harness: StepHarness) -> None:
    with pytest.raises(StepFailed, match="set `marker`"):
        await step.run(harness.context(name="a-->b"), PostCommentConfig(body="x"))


def test_body_from_is_not_a_config_key() -> None:
    with pytest.raises(ValidationError):
        PostCommentConfig.model_validate({"body_from": "tests.summary"})
