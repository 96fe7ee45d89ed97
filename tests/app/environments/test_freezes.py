"""Freeze windows: how they are written, when they are on (wall-clock time in their timezone,
across midnight and daylight-saving changes), and how they are told."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.environments.config import environments_of
from app.environments.freezes import (
    FreezeWindow,
    active_freeze,
    describe_freeze,
    describe_issue_freeze,
    freezing_issue,
)
from app.features import parse_config
from app.repo_config import ConfigError
from providers.vocabulary import IssueSummary


def window(**fields: Any) -> FreezeWindow:
    return FreezeWindow.model_validate(fields)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def problems(freeze: str) -> list[str]:
    text = f"environments:\n  production:\n    targets: [web-1]\n    freeze: {freeze}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, step_types={})
    return caught.value.lines()


# --- written ------------------------------------------------------------------------------


def test_a_window_in_the_config_file() -> None:
    text = (
        "environments:\n"
        "  production:\n"
        "    targets: [web-1]\n"
        "    freeze:\n"
        '      - {days: [Friday], from: "16:00", to: "24:00", timezone: Europe/Paris,'
        " reason: weekend}\n"
        "      - {days: [sat, SUN]}\n"
    )
    spec = environments_of(parse_config(text, step_types={}))["production"]
    friday, weekend = spec.freeze
    assert (friday.days, friday.start, friday.end) == (("fri",), "16:00", "24:00")
    assert (friday.timezone, friday.reason) == ("Europe/Paris", "weekend")
    assert (weekend.days, weekend.start, weekend.end) == (("sat", "sun"), "00:00", "24:00")
    assert weekend.timezone == "UTC"


def test_unquoted_times_are_read_as_written() -> None:
    """Unquoted, 16:00 and 08:00 are read as the times they are (no YAML 1.1 base 60)."""
    text = "environments:\n  p:\n    targets: [w]\n    freeze: [{from: 16:00, to: 08:00}]\n"
    [freeze] = environments_of(parse_config(text, step_types={}))["p"].freeze
    assert (freeze.start, freeze.end, freeze.overnight) == ("16:00", "08:00", True)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("fri", ("fri",)),
        (["Mon", "TUESDAY", "wednes"], ("mon", "tue", "wed")),
        (["mon-fri"], ("mon", "tue", "wed", "thu", "fri")),
        (["sat-mon"], ("sat", "sun", "mon")),
        (["fri", "friday"], ("fri",)),
    ],
)
def test_days_are_normalised(days: object, expected: tuple[str, ...]) -> None:
    assert window(days=days).days == expected


def test_every_day_by_default() -> None:
    assert window(**{"from": "22:00", "to": "23:00"}).days == (
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    )


@pytest.mark.parametrize(
    ("freeze", "message"),
    [
        (
            '[{from: "25:00"}]',
            ".shipyard.yml:4: environments.production.freeze[0].from: "
            "'25:00' is not a time of day (00:00 to 23:59)",
        ),
        (
            '[{from: "16:60"}]',
            ".shipyard.yml:4: environments.production.freeze[0].from: "
            "'16:60' is not a time of day (00:00 to 23:59)",
        ),
        (
            '[{from: "4pm"}]',
            ".shipyard.yml:4: environments.production.freeze[0].from: "
            '\'4pm\' is not a time of day: write it as "HH:MM", like "16:00"',
        ),
        (
            "[{from: 16}]",
            ".shipyard.yml:4: environments.production.freeze[0].from: "
            '16 is not a time of day: write it as "HH:MM", like "16:00"',
        ),
        (
            '[{from: "24:00"}]',
            ".shipyard.yml:4: environments.production.freeze[0].from: "
            "'24:00' is not a time of day (00:00 to 23:59)",
        ),
        (
            '[{to: "24:01"}]',
            ".shipyard.yml:4: environments.production.freeze[0].to: "
            "'24:01' is not a time of day (00:00 to 24:00)",
        ),
        (
            '[{from: "10:00", to: "10:00"}]',
            ".shipyard.yml:4: environments.production.freeze[0]: `from` and `to` are both "
            '10:00: for the whole day leave them out, or write from: "00:00", to: "24:00"',
        ),
        (
            "[{timezone: Europe/Pairs}]",
            ".shipyard.yml:4: environments.production.freeze[0].timezone: unknown timezone "
            "'Europe/Pairs' (did you mean 'Europe/Paris'?): use an IANA name such as "
            "Europe/Paris or UTC",
        ),
        (
            "[{timezone: ../../etc/passwd}]",
            ".shipyard.yml:4: environments.production.freeze[0].timezone: unknown timezone "
            "'../../etc/passwd': use an IANA name such as Europe/Paris or UTC",
        ),
        (
            "[{days: [fryday]}]",
            ".shipyard.yml:4: environments.production.freeze[0].days: unknown day 'fryday' "
            "(did you mean 'fri'?); days are mon, tue, wed, thu, fri, sat, sun",
        ),
        (
            "[{days: []}]",
            ".shipyard.yml:4: environments.production.freeze[0].days: must not be empty",
        ),
        (
            "[{form: '16:00'}]",
            ".shipyard.yml:4: environments.production.freeze[0].form: "
            "unknown key 'form' (did you mean 'from'?)",
        ),
        (
            "[{reason: ''}]",
            ".shipyard.yml:4: environments.production.freeze[0].reason: must not be empty",
        ),
    ],
)
def test_bad_windows(freeze: str, message: str) -> None:
    assert problems(freeze) == [message]


def test_a_problem_on_a_later_line_has_that_line() -> None:
    text = (
        "environments:\n"
        "  production:\n"
        "    targets: [web-1]\n"
        "    freeze:\n"
        "      - days: [fri]\n"
        '        from: "16:00"\n'
        "        timezone: Mars/Olympus\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, step_types={})
    assert caught.value.lines() == [
        ".shipyard.yml:7: environments.production.freeze[0].timezone: unknown timezone "
        "'Mars/Olympus': use an IANA name such as Europe/Paris or UTC"
    ]


# --- on or off ----------------------------------------------------------------------------

FRIDAY_PARIS = window(days=["fri"], **{"from": "16:00", "to": "24:00"}, timezone="Europe/Paris")
OVERNIGHT = window(days=["mon"], **{"from": "22:00", "to": "06:00"})
SUNDAY_NIGHT = window(days=["sun"], **{"from": "22:00", "to": "06:00"})
SKIPPED_HOUR = window(days=["sun"], **{"from": "02:00", "to": "03:00"}, timezone="Europe/Paris")
OVERNIGHT_PARIS = window(days=["sat"], **{"from": "22:00", "to": "06:00"}, timezone="Europe/Paris")
NEW_YORK = window(days=["fri"], **{"from": "09:00", "to": "17:00"}, timezone="America/New_York")


@pytest.mark.parametrize(
    ("freeze", "now", "on"),
    [
        # Paris summer time is UTC+2, winter time UTC+1: 16:00 there moves in UTC.
        (FRIDAY_PARIS, "2024-07-05T13:59:59", False),
        (FRIDAY_PARIS, "2024-07-05T14:00:00", True),
        (FRIDAY_PARIS, "2024-07-05T21:59:59", True),
        (FRIDAY_PARIS, "2024-07-05T22:00:00", False),  # saturday 00:00 in Paris: "to" excluded
        (FRIDAY_PARIS, "2024-01-05T14:30:00", False),
        (FRIDAY_PARIS, "2024-01-05T15:00:00", True),
        (FRIDAY_PARIS, "2024-07-04T14:00:00", False),  # a thursday
        # Overnight: `days` names the day it starts; it runs into the next.
        (OVERNIGHT, "2024-07-01T21:59:00", False),  # monday
        (OVERNIGHT, "2024-07-01T22:00:00", True),
        (OVERNIGHT, "2024-07-02T05:59:59", True),  # tuesday morning
        (OVERNIGHT, "2024-07-02T06:00:00", False),
        (OVERNIGHT, "2024-07-02T22:30:00", False),  # tuesday night: not a day it starts
        (OVERNIGHT, "2024-07-01T03:00:00", False),  # monday morning: sunday did not start it
        (SUNDAY_NIGHT, "2024-07-08T05:00:00", True),  # round the week: sunday into monday
        (SUNDAY_NIGHT, "2024-07-07T05:00:00", False),
        # Spring forward (Paris, 31 March 2024, 02:00 → 03:00): the hour never happens.
        (SKIPPED_HOUR, "2024-03-31T00:59:59", False),  # 01:59:59 CET
        (SKIPPED_HOUR, "2024-03-31T01:00:00", False),  # 03:00 CEST
        # Fall back (27 October 2024, 03:00 → 02:00): the hour happens twice, frozen both times.
        (SKIPPED_HOUR, "2024-10-27T00:30:00", True),  # 02:30 CEST
        (SKIPPED_HOUR, "2024-10-27T01:30:00", True),  # 02:30 CET
        (SKIPPED_HOUR, "2024-10-27T02:00:00", False),  # 03:00 CET
        # Overnight across the change: saturday 22:00 to sunday 06:00, local time.
        (OVERNIGHT_PARIS, "2024-10-26T19:59:00", False),  # 21:59 CEST
        (OVERNIGHT_PARIS, "2024-10-26T20:00:00", True),  # 22:00 CEST
        (OVERNIGHT_PARIS, "2024-10-27T04:59:00", True),  # 05:59 CET
        (OVERNIGHT_PARIS, "2024-10-27T05:00:00", False),  # 06:00 CET
        (OVERNIGHT_PARIS, "2024-03-31T03:59:00", True),  # 05:59 CEST
        (OVERNIGHT_PARIS, "2024-03-31T04:00:00", False),  # 06:00 CEST
        # US daylight saving starts on another day than Europe's.
        (NEW_YORK, "2024-03-08T13:59:00", False),  # 08:59 EST
        (NEW_YORK, "2024-03-08T14:00:00", True),
        (NEW_YORK, "2024-03-15T13:00:00", True),  # 09:00 EDT
        (NEW_YORK, "2024-03-15T12:59:00", False),
    ],
)
def test_active_freeze(freeze: FreezeWindow, now: str, on: bool) -> None:
    assert active_freeze([freeze], utc(now)) == (freeze if on else None)


def test_the_first_window_that_is_on_is_the_one() -> None:
    evening = window(days=["mon"], **{"from": "18:00", "to": "20:00"}, reason="evening")
    monday = window(days=["mon"], reason="monday")
    now = utc("2024-07-01T19:00:00")
    assert active_freeze([evening, monday], now) == evening
    assert active_freeze([monday, evening], now) == monday
    assert active_freeze([], now) is None


def test_now_in_another_timezone_is_the_same_instant() -> None:
    now = datetime(2024, 7, 5, 23, 30, tzinfo=ZoneInfo("Asia/Tokyo"))  # 16:30 in Paris
    assert active_freeze([FRIDAY_PARIS], now) == FRIDAY_PARIS


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        active_freeze([FRIDAY_PARIS], datetime(2024, 7, 5, 16, 0))


# --- told ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("freeze", "words"),
    [
        (
            window(
                days=["fri"],
                **{"from": "16:00", "to": "24:00"},
                timezone="Europe/Paris",
                reason="weekend",
            ),
            "fri 16:00-24:00 Europe/Paris: weekend",
        ),
        (window(days=["fri"], **{"from": "22:00", "to": "06:00"}), "fri 22:00-sat 06:00 UTC"),
        (window(days=["sun"], **{"from": "22:00", "to": "06:00"}), "sun 22:00-mon 06:00 UTC"),
        (
            window(days=["mon-thu"], **{"from": "22:00", "to": "06:00"}),
            "mon-thu 22:00-06:00 the next day UTC",
        ),
        (window(days=["sun", "sat"]), "sat, sun all day UTC"),
        (window(days=["fri-mon"]), "fri-mon all day UTC"),
        (window(days=["mon", "wed", "thu", "fri"]), "mon, wed-fri all day UTC"),
        (window(reason="release week"), "every day all day UTC: release week"),
        (window(**{"from": "12:00", "to": "13:00"}), "every day 12:00-13:00 UTC"),
    ],
)
def test_describe_freeze(freeze: FreezeWindow, words: str) -> None:
    assert describe_freeze(freeze) == words


@pytest.mark.parametrize(
    ("title", "body", "environment", "freezes"),
    [
        ("Incident: production is down", "", "production", True),
        ("Incident", "Freeze PRODUCTION until the fix lands", "production", True),
        ("Incident: production-eu is down", "", "production", False),  # another environment
        ("Incident: preproduction", "", "production", False),
        ("Incident", "staging only", "production", False),
        ("Deploys to staging are frozen", "", "staging", True),
    ],
)
def test_an_open_labelled_issue_freezes_the_environments_it_names(
    title: str, body: str, environment: str, freezes: bool
) -> None:
    issue = IssueSummary(number=12, title=title, body=body)
    assert (freezing_issue([issue], environment) is issue) is freezes


def test_an_issue_freeze_says_which_issue_and_label() -> None:
    issue = IssueSummary(number=12, title="production is down", body="")
    assert describe_issue_freeze(issue, "deploy-freeze") == (
        "issue #12 ('production is down') is open with the label 'deploy-freeze'"
    )
