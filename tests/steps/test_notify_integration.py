"""notify through a notification integration: the notice the step asks the server to send,
once (a retry after it was sent answers what was recorded), and failures with their code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError

from steps.base import StepFailed
from steps.integrations import IntegrationFailed, Notice, NoticeSent
from steps.notify import Notify, NotifyConfig
from tests.support.steps import StepHarness


@dataclass
class RecordingNotices:
    """The server's Notices as a step sees it: records each send; `failure` fails them."""

    sent: list[tuple[str, Notice]] = field(default_factory=list)
    failure: IntegrationFailed | None = None
    answer: str | None = "1712345678.000200"

    async def send(self, integration: str, notice: Notice) -> NoticeSent:
        if self.failure is not None:
            raise self.failure
        self.sent.append((integration, notice))
        return NoticeSent(integration, self.answer)


def config(**values: Any) -> NotifyConfig:
    return NotifyConfig.model_validate(values)


FULL = {
    "integration": "team-slack",
    "title": "web: tests passed",
    "text": "All 412 tests passed on feature.",
    "status": "succeeded",
    "url": "http://shipyard.test/runs/1",
    "fields": {"Branch": "feature", "Tests": 412, "Flaky": False},
    "dedup_key": "ci/acme/web/feature",
    "thread": "1712345000.000100",
}


async def test_the_notice_goes_to_the_named_integration(harness: StepHarness) -> None:
    notices = RecordingNotices()
    ctx = harness.context()
    ctx.notices = notices

    outputs = await Notify().run(ctx, config(**FULL))

    assert notices.sent == [
        (
            "team-slack",
            Notice(
                title="web: tests passed",
                text="All 412 tests passed on feature.",
                status="succeeded",
                url="http://shipyard.test/runs/1",
                fields={"Branch": "feature", "Tests": "412", "Flaky": "false"},
                dedup_key="ci/acme/web/feature",
                thread="1712345000.000100",
            ),
        )
    ]
    assert outputs == {"integration": "team-slack", "notice_id": "1712345678.000200"}
    assert harness.recorded["notice"] == {"integration": "team-slack", "id": "1712345678.000200"}
    assert harness.lines == ["notify: sent through team-slack (1712345678.000200)"]


async def test_a_title_alone_is_an_info_notice(harness: StepHarness) -> None:
    notices = RecordingNotices(answer=None)
    ctx = harness.context()
    ctx.notices = notices

    outputs = await Notify().run(ctx, config(integration="mail", title="Nightly build ready"))

    [(name, notice)] = notices.sent
    assert (name, notice) == ("mail", Notice(title="Nightly build ready", text=""))
    assert notice.status == "info"
    assert outputs == {"integration": "mail", "notice_id": None}


async def test_a_retry_after_it_was_sent_does_not_send_again(harness: StepHarness) -> None:
    notices = RecordingNotices()
    first = harness.context()
    first.notices = notices
    sent = await Notify().run(first, config(**FULL))

    again = harness.context(attempt=2)
    again.notices = notices
    repeated = await Notify().run(again, config(**FULL))

    assert len(notices.sent) == 1
    assert repeated == sent
    assert harness.lines[-1] == (
        "notify: sent through team-slack by an earlier attempt; not sending again"
    )


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            IntegrationFailed(
                "INTEGRATION_NOT_FOUND", "INTEGRATION_NOT_FOUND: there is no integration 'nope'"
            ),
            "notify: INTEGRATION_NOT_FOUND: there is no integration 'nope'",
        ),
        (
            IntegrationFailed("RATE_LIMITED", "integration team-slack: Slack said ratelimited"),
            "notify: RATE_LIMITED: integration team-slack: Slack said ratelimited",
        ),
    ],
)
async def test_a_failure_fails_the_step_with_its_code(
    harness: StepHarness, failure: IntegrationFailed, expected: str
) -> None:
    ctx = harness.context()
    ctx.notices = RecordingNotices(failure=failure)

    with pytest.raises(StepFailed) as caught:
        await Notify().run(ctx, config(**FULL))

    assert str(caught.value) == expected
    assert "notice" not in harness.recorded


async def test_without_the_servers_integrations_the_step_fails(harness: StepHarness) -> None:
    with pytest.raises(StepFailed, match="integrations are not available"):
        await Notify().run(harness.context(), config(**FULL))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"integration": "x", "title": "t", "slack": {"text": "a"}}, "exactly one of"),
        ({"integration": "x"}, "needs a title"),
        ({"integration": "x", "title": ""}, "at least 1 character"),
        ({"integration": "x", "title": "t", "status": "exploded"}, "status"),
        ({"title": "t", "webhook": {"url": "https://h.example"}}, "title: only with integration:"),
        ({"slack": {"text": "a"}, "thread": "1.2"}, "thread: only with integration:"),
    ],
)
def test_config_is_checked(values: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        config(**values)
    assert expected in str(caught.value)
