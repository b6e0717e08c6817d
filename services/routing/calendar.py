"""Working days on the State Council's official calendar, and periods counted on it.

"Within N working days of receipt" (自收到之日起N个工作日内): the day of receipt
is not counted; weekends and official holidays are skipped; the Saturdays and
Sundays the State Council makes working days (调休上班) count.

A period in days (Civil Code arts. 200-204; Order No. 121 art. 45): the day of
the act is not counted; the period ends at 24:00 China time of its last day; a
last day that is a statutory rest day moves to the next working day. Order
No. 121 art. 45 says "the first day after the holiday"; with weekends counted
as rest days (Civil Code art. 203, 法定休假日) that is the next working day.

Every deadline is the end of its last China day, returned as an aware UTC
instant; work dated at or before it is in time.

Which days are working days: the chinese-calendar package for the years it
knows, then the notices an operator loaded (holidays.py), and for any other
year a provisional judgement that never makes New Year's Day, the Spring
Festival or National Day working days. `is_working_day` and `add_working_days`
refuse provisional days (`BeyondOfficialCalendar`); `period_end` uses them and
says whether it did, so a caller can mark the deadline provisional.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable

import chinese_calendar
from chinese_calendar.constants import holidays as _published_holidays

from . import holidays
from .rulebook import CHINA_STANDARD_TIME, DAYS, Period, Rulebook, rulebook_for

FIRST_COVERED = date(min(_published_holidays).year, 1, 1)
LAST_COVERED = date(max(_published_holidays).year, 12, 31)
_LAST_MOMENT = time(23, 59, 59, 999000)  # timestamps on the bus are whole milliseconds

_notices: dict[int, holidays.Notice] = {}


class BeyondOfficialCalendar(ValueError):
    def __init__(self, day: date):
        super().__init__(
            f"{day.isoformat()} is outside the official holiday calendar this system knows "
            f"({FIRST_COVERED.isoformat()} to {LAST_COVERED.isoformat()}"
            f"{''.join(f', {y}' for y in sorted(_notices))}); load the State Council's notice for "
            f"{day.year} ({holidays.SETTING}) or a newer chinese-calendar release")
        self.day = day


def load_notices(env: dict | None = None) -> list[int]:
    """Load the configured notices (replacing any loaded before); the years now known."""
    found = holidays.load_configured(env)
    use_notices(found.values())
    return sorted(found)


def use_notices(notices: Iterable[holidays.Notice]) -> None:
    _notices.clear()
    _notices.update({n.year: n for n in notices if not FIRST_COVERED.year <= n.year <= LAST_COVERED.year})
    add_working_days.cache_clear()
    _day.cache_clear()


def loaded_notices() -> tuple[holidays.Notice, ...]:
    """The notices in use, by year: what a deadline counted earlier may not have known."""
    return tuple(_notices[year] for year in sorted(_notices))


def known_year(year: int) -> bool:
    return FIRST_COVERED.year <= year <= LAST_COVERED.year or year in _notices


@lru_cache(maxsize=8192)
def _day(day: date) -> tuple[bool, bool]:
    """(working, provisional) for one China day."""
    if FIRST_COVERED <= day <= LAST_COVERED:
        return chinese_calendar.is_workday(day), False
    notice = _notices.get(day.year)
    if notice is not None:
        if day in notice.working_days:
            return True, False
        return day.weekday() < 5 and day not in notice.holidays, False
    return day.weekday() < 5 and day not in holidays.statutory_days(day.year), True


def working_day(day: date) -> tuple[bool, bool]:
    """Whether `day` is a working day, and whether that is a provisional judgement."""
    return _day(day)


def is_working_day(day: date) -> bool:
    working, provisional = _day(day)
    if provisional:
        raise BeyondOfficialCalendar(day)
    return working


def weekday_working_days_after(instant: datetime, n: int) -> datetime:
    """Provisional: the Nth working day after the China day of `instant` as
    far as the calendar can tell without the year's notice (no weekend and no
    New Year, Spring Festival or National Day day is one)."""
    day, _ = period_end(china_date(instant), Period(n, "WORKING_DAYS", ""))
    return end_of_day(day)


@lru_cache(maxsize=4096)
def add_working_days(day: date, n: int) -> date:
    """The Nth working day after `day` (which itself is not counted)."""
    if isinstance(day, datetime):
        raise TypeError("add_working_days counts from a date; for an instant use working_days_after")
    if n < 0:
        raise ValueError(f"cannot count {n} working days")
    is_working_day(day)
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def period_end(start: date, period: Period, skip: frozenset[date] | set[date] = frozenset()) -> tuple[date, bool]:
    """The last day of `period` counted from the day after `start`, and whether
    any day it depended on was judged provisionally. Days in `skip` are not
    counted at all (appraisal days, see mediation/rules.py)."""
    day, counted, provisional = start, 0, False
    while counted < period.length:
        day += timedelta(days=1)
        if day in skip:
            continue
        if period.unit == DAYS:
            counted += 1
            continue
        working, guessed = _day(day)
        provisional |= guessed
        counted += working
    if period.unit == DAYS:
        while True:
            working, guessed = _day(day)
            provisional |= guessed
            if working and day not in skip:
                break
            day += timedelta(days=1)
    return day, provisional


def period_due(start: datetime, period: Period, skip: frozenset[date] | set[date] = frozenset()) -> tuple[datetime, bool]:
    """End (24:00 China time) of the period that starts with the China day of `start`."""
    day, provisional = period_end(china_date(start), period, skip)
    return end_of_day(day), provisional


def china_date(instant: datetime) -> date:
    """The calendar day an instant falls on in China."""
    if instant.tzinfo is None:
        raise ValueError(f"instant {instant} has no time zone; instants are UTC")
    return instant.astimezone(CHINA_STANDARD_TIME).date()


def end_of_day(day: date) -> datetime:
    """The last millisecond of a China day, as a UTC instant."""
    return datetime.combine(day, _LAST_MOMENT, tzinfo=CHINA_STANDARD_TIME).astimezone(timezone.utc)


def china_time(instant: datetime | None) -> datetime | None:
    """An instant as a person in China reads it (+08:00)."""
    return None if instant is None else instant.astimezone(CHINA_STANDARD_TIME)


def working_days_after(instant: datetime, n: int) -> datetime:
    """End of the Nth working day after the China day of `instant`, in UTC."""
    return end_of_day(add_working_days(china_date(instant), n))


def decision_due(received_at: datetime, rulebook: Rulebook | None = None) -> datetime:
    """When the bureau must have told the complainant whether it accepts."""
    rulebook = rulebook or rulebook_for(received_at)
    return working_days_after(received_at, rulebook.decision_working_days)


def _require_covered(day: date) -> None:
    if _day(day)[1]:
        raise BeyondOfficialCalendar(day)
