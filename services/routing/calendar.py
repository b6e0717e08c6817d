"""Working days on the State Council's official calendar, and deadlines counted in them.

"Within N working days of receipt" (自收到之日起N个工作日内): the day of receipt
is not counted; weekends and official holidays are skipped; the Saturdays and
Sundays the State Council makes working days (调休上班) count. The deadline is
the end of the Nth working day in China Standard Time, whatever the server's
zone, returned as an aware UTC instant.

The holiday schedule comes from the chinese-calendar package, which knows the
years the State Council has published. A day outside them raises
`BeyondOfficialCalendar` instead of being guessed: a guessed Spring Festival
would silently move deadlines.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import chinese_calendar
from chinese_calendar.constants import holidays as _published_holidays

from .rulebook import CHINA_STANDARD_TIME, Rulebook, rulebook_for

FIRST_COVERED = date(min(_published_holidays).year, 1, 1)
LAST_COVERED = date(max(_published_holidays).year, 12, 31)
_LAST_MOMENT = time(23, 59, 59, 999000)  # timestamps on the bus are whole milliseconds


class BeyondOfficialCalendar(ValueError):
    def __init__(self, day: date):
        super().__init__(
            f"{day.isoformat()} is outside the official holiday calendar this system knows "
            f"({FIRST_COVERED.isoformat()} to {LAST_COVERED.isoformat()}); a newer chinese-calendar "
            "release carries the State Council's schedule once it is published")
        self.day = day


def is_working_day(day: date) -> bool:
    _require_covered(day)
    return chinese_calendar.is_workday(day)


def weekday_working_days_after(instant: datetime, n: int) -> datetime:
    """Provisional: the Nth weekday after the China day of `instant`. For days
    the published calendar does not cover yet; never a substitute for it."""
    day = china_date(instant)
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            counted += 1
    return end_of_day(day)


@lru_cache(maxsize=4096)
def add_working_days(day: date, n: int) -> date:
    """The Nth working day after `day` (which itself is not counted)."""
    if isinstance(day, datetime):
        raise TypeError("add_working_days counts from a date; for an instant use working_days_after")
    if n < 0:
        raise ValueError(f"cannot count {n} working days")
    _require_covered(day)
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def china_date(instant: datetime) -> date:
    """The calendar day an instant falls on in China."""
    if instant.tzinfo is None:
        raise ValueError(f"instant {instant} has no time zone; instants are UTC")
    return instant.astimezone(CHINA_STANDARD_TIME).date()


def end_of_day(day: date) -> datetime:
    """The last millisecond of a China day, as a UTC instant."""
    return datetime.combine(day, _LAST_MOMENT, tzinfo=CHINA_STANDARD_TIME).astimezone(timezone.utc)


def working_days_after(instant: datetime, n: int) -> datetime:
    """End of the Nth working day after the China day of `instant`, in UTC."""
    return end_of_day(add_working_days(china_date(instant), n))


def decision_due(received_at: datetime, rulebook: Rulebook | None = None) -> datetime:
    """When the bureau must have told the complainant whether it accepts."""
    rulebook = rulebook or rulebook_for(received_at)
    return working_days_after(received_at, rulebook.decision_working_days)


def _require_covered(day: date) -> None:
    if not FIRST_COVERED <= day <= LAST_COVERED:
        raise BeyondOfficialCalendar(day)
