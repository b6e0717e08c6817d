"""Years the calendar package does not know: the State Council's notice loaded as
data (validated), provisional judgements until then, and deadlines recomputed
when the notice arrives."""
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.bus.clock import Clock
from services.bus.messages import Decoded, Inbound
from services.bus.store import UnitOfWork
from services.routing import calendar, holidays
from services.routing.application import Routing
from services.routing.rulebook import Period
from tests.examples import EXAMPLES
from tests.inbound import deliver

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "holidays" / "2026.json"
UTC = timezone.utc
# A notice for 2027 as the State Council might publish it (for the tests only).
NOTICE_2027 = {
    "year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知（测试用）",
    "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
                 {"name": "春节", "from": "2027-02-05", "to": "2027-02-12"},
                 {"name": "劳动节", "from": "2027-05-01", "to": "2027-05-05"},
                 {"name": "国庆节", "from": "2027-10-01", "to": "2027-10-07"}],
    "working_days": ["2027-02-20", "2027-10-09"],
}


@pytest.fixture(autouse=True)
def no_notices():
    calendar.use_notices(())
    yield
    calendar.use_notices(())


def test_the_2026_example_is_a_valid_notice_and_agrees_with_the_package():
    notice = holidays.load(EXAMPLE)
    assert notice.year == 2026 and date(2026, 2, 17) in notice.holidays and date(2026, 10, 10) in notice.working_days
    day = date(2026, 1, 1)
    while day.year == 2026:
        listed = day in notice.working_days or (day.weekday() < 5 and day not in notice.holidays)
        assert listed is calendar.is_working_day(day), day
        day += timedelta(days=1)


def _broken(**changes):
    return {**NOTICE_2027, **changes}


@pytest.mark.parametrize("data, says", [
    ([], "JSON object"),
    (_broken(year="2027"), "year"),
    (_broken(source=""), "source"),
    (_broken(extra=1), "unknown field"),
    (_broken(holidays=[]), "non-empty"),
    (_broken(holidays=[{"name": "元旦", "from": "2027-01-01"}]), "exactly name, from and to"),
    (_broken(holidays=[{"name": "元旦", "from": "2027/01/01", "to": "2027-01-01"}]), "YYYY-MM-DD"),
    (_broken(holidays=[{"name": "元旦", "from": "2027-01-03", "to": "2027-01-01"}]), "not a holiday period"),
    (_broken(working_days=["2027-02-22"]), "weekday already"),
    (_broken(working_days=["2027-02-06"]), "both a holiday and a working day"),
    (_broken(working_days=["2031-01-04"]), "too far"),
    # New Year's Day, the Spring Festival and National Day may never be working days
    (_broken(holidays=NOTICE_2027["holidays"][1:]), "2027-01-01 is a statutory holiday"),
    (_broken(holidays=[h for h in NOTICE_2027["holidays"] if h["name"] != "春节"]), "2027-02-05 is a statutory"),
    (_broken(holidays=NOTICE_2027["holidays"][:3]), "2027-10-01 is a statutory holiday"),
])
def test_a_bad_notice_is_refused_whole_naming_the_defect(data, says):
    with pytest.raises(holidays.InvalidNotice, match=says):
        holidays.parse(data, "notice.json")


def test_notices_are_found_through_the_setting(tmp_path):
    (tmp_path / "2027.json").write_text(json.dumps(NOTICE_2027, ensure_ascii=False), encoding="utf-8")
    assert calendar.load_notices({"TOUSU_HOLIDAY_NOTICES": str(tmp_path)}) == [2027]
    assert calendar.is_working_day(date(2027, 2, 20)) is True      # a make-up Saturday
    assert calendar.is_working_day(date(2027, 2, 12)) is False
    (tmp_path / "again.json").write_text(json.dumps(NOTICE_2027), encoding="utf-8")
    with pytest.raises(holidays.InvalidNotice, match="second notice for 2027"):
        calendar.load_notices({"TOUSU_HOLIDAY_NOTICES": str(tmp_path)})


@pytest.mark.parametrize("day, working", [
    (date(2027, 1, 1), False),   # New Year's Day
    (date(2027, 2, 5), False),   # the Spring Festival's eve
    (date(2027, 2, 8), False),   # its third day
    (date(2027, 2, 9), True),
    (date(2027, 5, 3), True),    # only 1-2 May are fixed
    (date(2027, 10, 3), False),  # National Day
    (date(2027, 10, 4), True),
    (date(2027, 3, 6), False),   # a Saturday
])
def test_without_the_notice_days_are_judged_provisionally_never_counting_the_great_holidays(day, working):
    assert calendar.working_day(day) == (working, True)
    with pytest.raises(calendar.BeyondOfficialCalendar):
        calendar.is_working_day(day)


def test_a_period_into_an_unknown_year_is_marked_provisional_until_the_notice_arrives():
    period = Period(7, "WORKING_DAYS", "")
    assert calendar.period_end(date(2027, 1, 29), period) == (date(2027, 2, 11), True)  # 1-4, 9, 10, 11 Feb
    calendar.use_notices([holidays.parse(NOTICE_2027)])
    assert calendar.period_end(date(2027, 1, 29), period) == (date(2027, 2, 17), False)  # 1-4 Feb, 15-17
    assert calendar.period_end(date(2026, 3, 2), period) == (date(2026, 3, 11), False)


class FixedClock(Clock):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def now(self):
        return self.at


def test_routing_recomputes_a_provisional_decision_due_when_the_notice_is_loaded():
    received = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)  # Wednesday 30 December 2026
    clock = FixedClock(received)
    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    record = dict(EXAMPLES["ComplaintReceived"], complaint_id="TS-1", occurred_at=received,
                  subject_area="TELECOM", prior_handling=[], preferred_agency_id=None)
    # Referred: the timer watches it while the referral waits.
    deliver(app, "routing", ("ComplaintReceived", record))
    complaint = app.complaint("TS-1")
    assert complaint.provisional_due
    # 31 Dec, (1 Jan off, 2-3 weekend) 4-8 Jan, 11 Jan provisionally
    assert complaint.decision_due == calendar.end_of_day(date(2027, 1, 11))
    calendar.use_notices([holidays.parse(NOTICE_2027)])
    app.flag_overdue()
    complaint = app.complaint("TS-1")
    assert not complaint.provisional_due
    assert complaint.decision_due == calendar.end_of_day(date(2027, 1, 11))
    names = [type(e).__name__ for e in app.events.get(complaint.id)]
    assert names[-1] == "DecisionDueRecomputed"


@pytest.mark.parametrize("accepted_on, rulebook, provisional_end, official_end", [
    # 60 days end on 8 Feb 2027, the third day of the Spring Festival as judged without a notice;
    # the notice gives 5-12 February off: the last day moves to Monday 15 February.
    (date(2026, 12, 10), "SAIC-62", date(2027, 2, 9), date(2027, 2, 15)),
    (date(2026, 12, 10), "SAMR-121", date(2027, 2, 9), date(2027, 2, 15)),
    # 45 working days: the notice's week off and its working Saturday, 20 February.
    (date(2026, 12, 10), "SAMR-20", date(2027, 2, 16), date(2027, 2, 20)),
    # No holiday near the end: the same day, now certain.
    (date(2026, 11, 20), "SAIC-62", date(2027, 1, 19), date(2027, 1, 19)),
])
def test_the_mediation_limit_shown_is_recomputed_once_the_notice_for_its_year_is_loaded(
        accepted_on, rulebook, provisional_end, official_end):
    from services.intake.application import Intake
    from services.intake.projection import project
    from services.mediation.application import Mediation
    from services.mediation.integration import integration_events

    accepted_at = datetime.combine(accepted_on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
    mediation = Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=FixedClock(accepted_at))
    intake = Intake(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    accepted = dict(EXAMPLES["ComplaintAccepted"], complaint_id="TS-1", decided_at=accepted_at, rulebook=rulebook)
    uow = UnitOfWork(mediation)
    mediation.open(uow, accepted)
    uow.commit()

    def show_in_status() -> dict:
        case = mediation.case("TS-1")
        for event in mediation.events.get(case.id):
            for out in integration_events(event, case):
                if out.topic == "mediation.events":
                    record = {"event_id": f"{event.originator_version}", "occurred_at": accepted_at, **out.record}
                    view_uow = UnitOfWork(intake)
                    project(intake, view_uow, Decoded(Inbound("mediation.events", 0, 0, None, b""), out.record_type, record))
                    view_uow.commit()
        return intake.status("TS-1")

    shown = show_in_status()
    assert shown["mediation_due"] == calendar.end_of_day(provisional_end) and shown["mediation_due_provisional"]
    assert mediation.recompute_dues() == 0  # nothing new is known

    calendar.use_notices([holidays.parse(NOTICE_2027)])
    assert mediation.recompute_dues() == 1
    assert mediation.recompute_dues() == 0  # announced once
    shown = show_in_status()
    assert shown["mediation_due"] == calendar.end_of_day(official_end)
    assert shown["mediation_due_provisional"] is False


def test_a_limit_the_official_calendar_already_covers_is_never_recomputed():
    from services.mediation.application import Mediation

    accepted_at = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    mediation = Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=FixedClock(accepted_at))
    uow = UnitOfWork(mediation)
    mediation.open(uow, dict(EXAMPLES["ComplaintAccepted"], complaint_id="TS-1", decided_at=accepted_at))
    uow.commit()
    calendar.use_notices([holidays.parse(NOTICE_2027)])
    assert mediation.recompute_dues() == 0
    assert mediation.case("TS-1").mediation_due == calendar.end_of_day(date(2026, 7, 31))


def test_a_limit_moved_by_an_appraisal_is_recomputed_from_what_the_appraisal_announced():
    from services.mediation.domainmodel import MediationCase

    accepted_at = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    case = MediationCase("TS-1", "AMR-310115", accepted_at, announced_due=calendar.end_of_day(date(2027, 2, 9)),
                         announced_provisional=True)
    case.record_consent("CONSUMER", True, accepted_at)
    case.record_consent("RESPONDENT", True, accepted_at)
    case.start_appraisal("某检测中心", "CLAIMANT", accepted_at + timedelta(days=5))
    case.complete_appraisal(accepted_at + timedelta(days=7))  # 16-17 Dec not counted: 8 Feb + 2
    assert case.mediation_due == calendar.end_of_day(date(2027, 2, 10)) and case.provisional_due
    assert case.recompute_due(accepted_at + timedelta(days=8)) is False
    calendar.use_notices([holidays.parse(NOTICE_2027)])
    assert case.recompute_due(accepted_at + timedelta(days=8)) is True
    assert case.announced == {"due": calendar.end_of_day(date(2027, 2, 15)), "provisional": False}
