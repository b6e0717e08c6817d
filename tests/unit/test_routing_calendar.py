"""Working days on the official calendar (2026 schedule as chinese-calendar carries it:
Spring Festival 15-23 Feb with make-up Saturdays 14 and 28 Feb; National Day 1-7 Oct
with make-up Sunday 20 Sep and Saturday 10 Oct)."""
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from services.routing.calendar import (
    BeyondOfficialCalendar, add_working_days, decision_due, is_working_day, working_days_after,
)
from services.routing.rulebook import SAIC_ORDER_62

UTC = timezone.utc


@pytest.mark.parametrize("day, working", [
    (date(2026, 2, 13), True),    # Friday before the Spring Festival
    (date(2026, 2, 14), True),    # Saturday made a working day
    (date(2026, 2, 16), False),   # Monday in the holiday
    (date(2026, 2, 23), False),   # last day of the holiday, a Monday
    (date(2026, 2, 24), True),
    (date(2026, 2, 28), True),    # Saturday made a working day
    (date(2026, 3, 7), False),    # an ordinary Saturday
    (date(2026, 9, 20), True),    # Sunday made a working day
    (date(2026, 10, 7), False),   # last day of National Day, a Wednesday
    (date(2026, 10, 10), True),   # Saturday made a working day
    (date(2026, 10, 11), False),  # the Sunday after it is not
])
def test_official_working_days(day, working):
    assert is_working_day(day) is working


@pytest.mark.parametrize("receipt, n, due", [
    (date(2026, 3, 2), 7, date(2026, 3, 11)),     # ordinary weeks: Monday + 7 = next Wednesday
    (date(2026, 3, 6), 1, date(2026, 3, 9)),      # Friday + 1 skips the weekend
    (date(2026, 3, 7), 1, date(2026, 3, 9)),      # received on a Saturday: counting starts after it
    (date(2026, 3, 2), 0, date(2026, 3, 2)),
    (date(2026, 2, 12), 2, date(2026, 2, 14)),    # lands on the make-up Saturday
    (date(2026, 2, 13), 1, date(2026, 2, 14)),
    (date(2026, 2, 13), 2, date(2026, 2, 24)),    # the whole holiday skipped
    (date(2026, 2, 13), 7, date(2026, 3, 2)),     # 14, 24, 25, 26, 27, 28 (Sat) and 2 Mar
    (date(2026, 2, 9), 7, date(2026, 2, 25)),     # 10-14, then 24, 25
    (date(2026, 9, 18), 1, date(2026, 9, 20)),    # Friday + 1 is the make-up Sunday
    (date(2026, 9, 30), 7, date(2026, 10, 15)),   # 8, 9, 10 (Sat), 12, 13, 14, 15
    (date(2026, 9, 30), 3, date(2026, 10, 10)),
    (date(2026, 10, 9), 1, date(2026, 10, 10)),
])
def test_add_working_days(receipt, n, due):
    assert add_working_days(receipt, n) == due


@pytest.mark.parametrize("received_at, due", [
    # 09:30 CST Monday 2 March: due end of Wednesday 11 March, CST
    (datetime(2026, 3, 2, 1, 30, tzinfo=UTC), datetime(2026, 3, 11, 15, 59, 59, 999000, tzinfo=UTC)),
    # 23:00 CST Thursday 12 Feb (15:00 UTC): received on the 12th in China
    (datetime(2026, 2, 12, 15, 0, tzinfo=UTC), datetime(2026, 2, 28, 15, 59, 59, 999000, tzinfo=UTC)),
    # 01:00 CST Friday 13 Feb (17:00 UTC on the 12th): received on the 13th in China
    (datetime(2026, 2, 12, 17, 0, tzinfo=UTC), datetime(2026, 3, 2, 15, 59, 59, 999000, tzinfo=UTC)),
    # the same instant given in another zone is the same receipt
    (datetime(2026, 2, 12, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
     datetime(2026, 3, 2, 15, 59, 59, 999000, tzinfo=UTC)),
    (datetime(2026, 9, 30, 2, 0, tzinfo=UTC), datetime(2026, 10, 15, 15, 59, 59, 999000, tzinfo=UTC)),
])
def test_decision_due_is_end_of_seventh_working_day_in_china(received_at, due):
    result = decision_due(received_at)
    assert result == due
    assert result.utcoffset() == timedelta(0)


def test_decision_due_takes_its_number_of_days_from_the_rulebook():
    received = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)
    assert decision_due(received, replace(SAIC_ORDER_62, decision_working_days=2)) == \
        datetime(2026, 2, 24, 15, 59, 59, 999000, tzinfo=UTC)


def test_working_days_after_an_instant():
    assert working_days_after(datetime(2026, 9, 30, 20, 0, tzinfo=UTC), 1) == \
        datetime(2026, 10, 8, 15, 59, 59, 999000, tzinfo=UTC)  # 04:00 CST on 1 Oct: the holiday's first day


@pytest.mark.parametrize("receipt, n, beyond", [
    (date(2026, 12, 28), 7, "2027-01-01"),  # runs past the last published schedule
    (date(2027, 3, 1), 1, "2027-03-01"),
    (date(2003, 12, 31), 1, "2003-12-31"),
])
def test_a_day_beyond_the_published_calendar_is_refused_not_guessed(receipt, n, beyond):
    with pytest.raises(BeyondOfficialCalendar) as raised:
        add_working_days(receipt, n)
    message = str(raised.value)
    assert beyond in message and "2004-01-01 to 2026-12-31" in message
    assert raised.value.day == date.fromisoformat(beyond)


def test_decision_due_beyond_the_calendar_is_refused():
    with pytest.raises(BeyondOfficialCalendar, match="^2027-01-01 is outside"):
        decision_due(datetime(2026, 12, 28, 2, 0, tzinfo=UTC))  # 29, 30, 31 Dec, then 2027


def test_an_instant_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        decision_due(datetime(2026, 3, 2, 9, 30))


def test_routing_decides_with_a_provisional_due_date_beyond_the_published_calendar():
    """The strict calendar refuses to guess; routing still decides, and says the
    due date is provisional: a count that never takes New Year's Day for a working day."""
    from datetime import datetime, timezone

    from services.routing.application import Routing

    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    due, provisional = app.decision_due(datetime(2026, 12, 28, 2, 0, tzinfo=timezone.utc))
    assert provisional
    # Mon 28 Dec: 29, 30, 31 Dec, (1 Jan off, 2-3 weekend) 4, 5, 6, 7 Jan 2027, end of day CST.
    assert due == datetime(2027, 1, 7, 15, 59, 59, 999000, tzinfo=timezone.utc)
    due, provisional = app.decision_due(datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc))
    assert not provisional
