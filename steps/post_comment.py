"""The `post_comment` step: one comment per pull request and marker, updated in place."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from providers.errors import NotFound
from providers.vocabulary import Comment, comment_marker
from steps.base import StepConfig, StepContext, StepFailed

__all__ = ["PostComment", "step"]

RECORDED_ID = "comment_id"


class PostCommentConfig(StepConfig):
    body: str  # `body_from: <step>.<output>` is resolved into `body` before the step runs
    marker: str | None = None  # default: the step name
    header: str | None = None
    footer: str | None = None
    number: int | None = Field(None, gt=0)  # default: the run's pull request

    @field_validator("marker")
    @classmethod
    def _marker_fits_in_an_html_comment(cls, marker: str | None) -> str | None:
        if marker is not None:
            _check_marker(marker)
        return marker


class PostComment:
    type_name: ClassVar[str] = "post_comment"
    Config: ClassVar[type[StepConfig]] = PostCommentConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        assert isinstance(config, PostCommentConfig)
        number = config.number or ctx.run.pr_number
        if number is None:
            raise StepFailed(
                "post_comment needs a pull request: this run has none (it was not started by a "
                "pull request or a comment on one); set `number` in config"
            )
        marker = config.marker or ctx.name
        try:
            _check_marker(marker)
        except ValueError as exc:
            raise StepFailed(f"{exc}; set `marker` in config") from None
        parts = (config.header, config.body, config.footer)
        body = ctx.mask("\n\n".join(part.strip("\n") for part in parts if part))
        comment = await _update_recorded(ctx, number, marker, body)
        if comment is None:
            comment = await ctx.provider.upsert_comment(ctx.run.repo, number, marker, body)
            await ctx.record(RECORDED_ID, comment.id)
        return {"comment_id": comment.id, "url": comment.url, "number": number}


step = PostComment()


def _check_marker(marker: str) -> None:
    if not marker.strip() or "--" in marker or ">" in marker or "\n" in marker:
        raise ValueError(f"marker {marker!r} must be one line without '--' or '>'")


async def _update_recorded(ctx: StepContext, number: int, marker: str, body: str) -> Comment | None:
    """On a retry, the comment an earlier attempt posted, updated; None if there is none."""
    comment_id = ctx.recorded.get(RECORDED_ID)
    if comment_id is None:
        return None
    marked = f"{comment_marker(marker)}\n{body}"
    try:
        return await ctx.provider.update_comment(ctx.run.repo, number, int(comment_id), marked)
    except NotFound:
        ctx.log(f"comment {comment_id} is gone; posting it again")
        return None
