"""Freeze windows: the weekly times an environment takes no deploys, and whether one is on now
(pure).

```yaml
freeze:
  - {days: [fri], from: "16:00", to: "24:00", timezone: Europe/Paris, reason: weekend}
  - {days: [sat, sun], timezone: Europe/Paris, reason: weekend}        # the whole day
  - {days: [mon-thu], from: "22:00", to: "06:00"}                      # overnight, UTC
```

Times are wall-clock times in the window's timezone, `to` excluded: across a daylight-saving
change a window keeps its local hours (and an hour the clocks skip never happens). A `to`
before `from` runs past midnight; `days` names the day it starts on. `.shipyard.yml` is read
without YAML 1.1's base-60 numbers, so an unquoted `16:00` is the text "16:00" too.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from app.repo_config.errors import custom_error
from app.repo_config.fields import FrozenModel
from providers.vocabulary import IssueSummary

__all__ = [
    "DAYS",
    "FreezeWindow",
    "Weekday",
    "active_freeze",
    "describe_freeze",
    "describe_issue_freeze",
    "freezing_issue",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_MINUTES = 24 * 60


def _day(word: str) -> Weekday | None:
    """`fri`, `Fri`, `friday`, `FRIDAY` → "fri": the full name or any start of it from 3 letters."""
    word = word.strip().lower()
    for short, full in zip(DAYS, _FULL, strict=True):
        if len(word) >= 3 and full.startswith(word):
            return short
    return None


def _days(value: object) -> object:
    """`days: fri` is `[fri]`; `mon-fri` is every day from monday to friday (and `sat-mon`
    wraps round the week)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return value
    days: list[object] = []
    for item in items:
        if not isinstance(item, str):
            days.append(item)
            continue
        first, dash, last = item.partition("-")
        if not dash:
            days.append(_day(item) or _unknown_day(item))
            continue
        start, end = _day(first) or _unknown_day(first), _day(last) or _unknown_day(last)
        index = DAYS.index(start)
        days.append(start)
        while DAYS[index] != end:
            index = (index + 1) % 7
            days.append(DAYS[index])
    return tuple(dict.fromkeys(days))


def _unknown_day(word: str) -> Weekday:
    close = difflib.get_close_matches(word.strip().lower(), [*DAYS, *_FULL], n=1, cutoff=0.6)
    hint = f" (did you mean {_day(close[0])!r}?)" if close else ""
    raise custom_error(f"unknown day {word!r}{hint}; days are mon, tue, wed, thu, fri, sat, sun")


def _clock(value: object, *, until: bool) -> object:
    """A time of day, "HH:MM" (or "H:MM"), normalised to "HH:MM". "24:00" only as a window's
    end."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise custom_error(f'{value} is not a time of day: write it as "HH:MM", like "16:00"')
    if not isinstance(value, str):
        return value
    hours, colon, minutes = value.strip().partition(":")
    if not (colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise custom_error(f'{value!r} is not a time of day: write it as "HH:MM", like "16:00"')
    total = int(hours) * 60 + int(minutes)
    if len(hours) > 2 or int(minutes) > 59 or total > (_DAY_MINUTES if until else _DAY_MINUTES - 1):
        latest = "24:00" if until else "23:59"
        raise custom_error(f"{value!r} is not a time of day (00:00 to {latest})")
    return f"{total // 60:02d}:{total % 60:02d}"


def _from(value: object) -> object:
    return _clock(value, until=False)


def _to(value: object) -> object:
    return _clock(value, until=True)


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _timezone(name: str) -> str:
    try:
        _zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, sorted(_zones()), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise custom_error(
            f"unknown timezone {name!r}{hint}: use an IANA name such as Europe/Paris or UTC"
        ) from None
    return name


def _one_line(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise custom_error("a freeze's reason is one line")
    return text


def _minutes(clock: str) -> int:
    hours, _, minutes = clock.partition(":")
    return int(hours) * 60 + int(minutes)


class FreezeWindow(FrozenModel):
    """No deploys on `days`, from `start` (YAML `from`) to `end` (YAML `to`, excluded), in
    `timezone`. Without `from` and `to`, the whole day."""

    days: Annotated[tuple[Weekday, ...], BeforeValidator(_days), Field(min_length=1)] = DAYS
    start: Annotated[str, BeforeValidator(_from), Field(alias="from")] = "00:00"
    end: Annotated[str, BeforeValidator(_to), Field(alias="to")] = "24:00"
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"
    reason: (
        Annotated[str, AfterValidator(_one_line), Field(min_length=1, max_length=200)] | None
    ) = None

    @model_validator(mode="after")
    def _some_time(self) -> FreezeWindow:
        if self.start_minute == self.end_minute:
            raise custom_error(
                f"`from` and `to` are both {self.start}: for the whole day leave them out, or "
                'write from: "00:00", to: "24:00"'
            )
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)

    @property
    def overnight(self) -> bool:
        """It ends the day after it starts (`to` before `from`)."""
        return self.end_minute < self.start_minute


def _covers(window: FreezeWindow, now: datetime) -> bool:
    local = now.astimezone(_zone(window.timezone))
    day = DAYS[local.weekday()]
    at = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    if not window.overnight:
        return day in window.days and window.start_minute <= at < window.end_minute
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (day in window.days and at >= window.start_minute) or (
        yesterday in window.days and at < window.end_minute
    )


def active_freeze(windows: Sequence[FreezeWindow], now: datetime) -> FreezeWindow | None:
    """The first of `windows` that `now` (timezone-aware) falls in, or None."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return next((window for window in windows if _covers(window, now)), None)


def _day_list(days: tuple[Weekday, ...]) -> str:
    """`mon, wed`; runs of three or more as `mon-fri`; every day as `every day`."""
    chosen = sorted(set(days), key=DAYS.index)
    if len(chosen) == 7:
        return "every day"
    runs: list[list[Weekday]] = []
    for day in chosen:
        if runs and DAYS.index(runs[-1][-1]) == DAYS.index(day) - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    if len(runs) > 1 and runs[0][0] == "mon" and runs[-1][-1] == "sun":  # sat-mon wraps
        runs[0] = runs.pop() + runs[0]
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(run) for run in runs)


def describe_freeze(window: FreezeWindow) -> str:
    """The window in words: "fri 16:00-24:00 Europe/Paris: weekend", "fri 22:00-sat 06:00 UTC",
    "mon-thu 22:00-06:00 the next day UTC", "sat, sun all day UTC"."""
    days = _day_list(window.days)
    if window.start == "00:00" and window.end == "24:00":
        when = f"{days} all day"
    elif window.overnight and len(set(window.days)) == 1:
        [day] = set(window.days)
        following = DAYS[(DAYS.index(day) + 1) % 7]
        when = f"{day} {window.start}-{following} {window.end}"
    elif window.overnight:
        when = f"{days} {window.start}-{window.end} the next day"
    else:
        when = f"{days} {window.start}-{window.end}"
    reason = f": {window.reason}" if window.reason else ""
    return f"{when} {window.timezone}{reason}"


def freezing_issue(issues: Sequence[IssueSummary], environment: str) -> IssueSummary | None:
    """The first of the open issues carrying the freeze label that names `environment` (as a
    word of its title or body, in any case): it freezes the environment while it is open."""
    named = re.compile(rf"(?<![\w-]){re.escape(environment)}(?![\w-])", re.IGNORECASE)
    for issue in issues:
        if named.search(issue.title) or named.search(issue.body):
            return issue
    return None


def describe_issue_freeze(issue: IssueSummary, label: str) -> str:
    return f"issue #{issue.number} ({issue.title!r}) is open with the label {label!r}"
