"""A timer round reads the aggregates whose time has come, not every live one:
each is read again once its next limit arrives, once any event of it is
stored, or once the holiday notices in force change. Otherwise a bureau with
thousands of cases open for months would have them all read every 30 s."""
from datetime import datetime, timedelta, timezone

import pytest

from services.mediation.application import Mediation
from services.routing import calendar, holidays
from services.routing.application import Routing
from tests.examples import EXAMPLES
from tests.inbound import deliver
from tests.unit.test_holiday_notices import NOTICE_2027, FixedClock

UTC = timezone.utc
ACCEPTED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # Monday 1 June 2026, 10:00 in Beijing
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def no_notices():
    calendar.use_notices(())
    yield
    calendar.use_notices(())


def counting_reads(app, monkeypatch) -> list:
    """The aggregates the application reads from its store, in order."""
    read, get = [], app.repository.get

    def counted(aggregate_id, *args, **kwargs):
        read.append(aggregate_id)
        return get(aggregate_id, *args, **kwargs)
    monkeypatch.setattr(app.repository, "get", counted)
    return read


def mediation_with(cases: int, rulebook: str = "SAIC-62") -> tuple[Mediation, FixedClock]:
    clock = FixedClock(ACCEPTED)
    app = Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    for i in range(1, cases + 1):
        deliver(app, "mediation", ("ComplaintAccepted", dict(
            EXAMPLES["ComplaintAccepted"], complaint_id=f"TS-{i}", rulebook=rulebook, decided_at=ACCEPTED)))
        app.act(f"TS-{i}", lambda c: [c.record_consent(party, True, ACCEPTED + DAY)
                                      for party in ("CONSUMER", "RESPONDENT")])
    return app, clock


def test_the_time_limit_round_reads_a_case_again_only_when_its_limit_comes_or_it_changes(monkeypatch):
    app, clock = mediation_with(3)
    read = counting_reads(app, monkeypatch)
    clock.at = ACCEPTED + DAY
    assert app.expire_due() == 0 and len(read) == 3
    read.clear()
    clock.at = ACCEPTED + 10 * DAY
    assert app.expire_due() == 0 and read == []

    # An event of TS-1 (its appraisal pauses the clock) brings it back once.
    app.start_appraisal("TS-1", "某质检所", "CONSUMER", ACCEPTED + 10 * DAY, body_chosen_by="PARTIES_AGREED")
    read.clear()
    assert app.expire_due() == 0 and len(read) == 1
    read.clear()
    assert app.expire_due() == 0 and read == []

    # Past the limit: the two running cases end; the paused one is not read.
    due = app.case("TS-2").mediation_due
    clock.at = due + timedelta(milliseconds=1)
    read.clear()
    assert app.expire_due() == 2 and len(read) == 2
    assert [app.case(c).termination["reason"] for c in ("TS-2", "TS-3")] == ["TIME_LIMIT_EXCEEDED"] * 2
    assert not app.case("TS-1").is_final

    # Its result comes in long after: the appraisal's time is not counted, and the case runs on.
    app.complete_appraisal("TS-1", due, result="合格")
    read.clear()
    assert app.expire_due() == 0 and len(read) == 1
    clock.at = app.case("TS-1").mediation_due + timedelta(milliseconds=1)
    assert app.expire_due() == 1 and app.case("TS-1").termination["reason"] == "TIME_LIMIT_EXCEEDED"


def test_a_holiday_notice_loaded_makes_every_live_case_due_for_a_look(monkeypatch):
    app, clock = mediation_with(2)
    read = counting_reads(app, monkeypatch)
    clock.at = ACCEPTED + DAY
    app.expire_due()
    read.clear()
    assert app.expire_due() == 0 and read == []
    calendar.use_notices([holidays.parse(NOTICE_2027)])
    assert app.expire_due() == 0 and len(read) == 2


def test_the_termination_notice_round_reads_a_case_once_until_its_notice_is_due(monkeypatch):
    app, clock = mediation_with(1, "SAMR-20")  # a rulebook with a termination notice
    app.act("TS-1", lambda c: c.terminate("PARTY_REFUSED", ACCEPTED + 3 * DAY))
    read = counting_reads(app, monkeypatch)
    clock.at = ACCEPTED + 3 * DAY
    assert app.flag_late_notices() == 0 and len(read) == 1
    read.clear()
    assert app.flag_late_notices() == 0 and read == []
    clock.at = app.case("TS-1").termination["notice_due"] + timedelta(milliseconds=1)
    assert app.flag_late_notices() == 1 and app.case("TS-1").termination["notice_overdue"] is True


def test_routing_reads_a_referred_complaint_again_at_its_reply_time(monkeypatch):
    received = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    clock = FixedClock(received)
    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    deliver(app, "routing", ("ComplaintReceived", dict(
        EXAMPLES["ComplaintReceived"], complaint_id="TS-1", occurred_at=received, aware_date=received.date(),
        prior_handling=[], preferred_agency_id=None, subject_area="FINANCE")))
    [(referral_id, referral)] = app.complaint("TS-1").referrals.items()
    read = counting_reads(app, monkeypatch)
    assert app.flag_overdue() == 0 and len(read) == 1
    read.clear()
    clock.at = referral["reply_due"] - timedelta(milliseconds=1)
    assert app.flag_overdue() == 0 and read == []
    clock.at = referral["reply_due"]
    assert app.flag_overdue() == 1 and len(read) == 1
    assert app.flag_overdue() == 0 and app.complaint("TS-1").referrals[referral_id]["status"] == "OVERDUE"


def test_enforcement_reads_a_lead_again_at_its_filing_limit(monkeypatch):
    from services.enforcement.application import Enforcement
    from tests.unit.test_enforcement_application import START, cases, feed, violation

    clock = FixedClock(START)
    app = Enforcement(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    feed(app, violation(1))
    [case] = cases(app, "COMPLAINT")
    read = counting_reads(app, monkeypatch)
    clock.at = START + DAY
    assert app.flag_overdue() == 0 and len(read) == 1
    read.clear()
    clock.at = case.filing_due - timedelta(milliseconds=1)
    assert app.flag_overdue() == 0 and read == []
    clock.at = case.filing_due + timedelta(milliseconds=1)
    assert app.flag_overdue() == 1 and app.flag_overdue() == 0
    assert cases(app, "COMPLAINT")[0].flagged_overdue == ["FILING"]


def test_what_a_round_worked_out_from_a_case_read_before_its_latest_event_is_not_kept(monkeypatch):
    """Mediation's rounds run in threads of their own and share the list of
    live cases: one may read a newer event of a case while another is still
    working out that case's limit from the version before it."""
    app, clock = mediation_with(1)
    clock.at = ACCEPTED + DAY
    app.expire_due()
    [case_id] = app.live_cases.refresh()
    stale = app.find(case_id)
    app.start_appraisal("TS-1", "某质检所", "CONSUMER", ACCEPTED + DAY, body_chosen_by="PARTIES_AGREED")
    app.live_cases.refresh()  # the other round, reading the appraisal
    app.live_cases.not_before(case_id, stale.version, stale.mediation_due)
    assert app.live_cases.due(clock.at) == {case_id}


def test_routing_reads_an_undecided_complaint_again_at_its_decision_due_time(monkeypatch):
    received = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    clock = FixedClock(received)
    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    monkeypatch.setattr(app, "decide", lambda complaint, uow: None)  # received, and left undecided
    deliver(app, "routing", ("ComplaintReceived", dict(
        EXAMPLES["ComplaintReceived"], complaint_id="TS-1", occurred_at=received, aware_date=received.date(),
        prior_handling=[], preferred_agency_id=None)))
    due = app.complaint("TS-1").decision_due
    read = counting_reads(app, monkeypatch)
    assert app.flag_overdue() == 0 and len(read) == 1
    read.clear()
    clock.at = due - timedelta(milliseconds=1)
    assert app.flag_overdue() == 0 and read == []
    clock.at = due + timedelta(milliseconds=1)
    assert app.flag_overdue() == 1 and app.complaint("TS-1").overdue_flagged
    assert app.flag_overdue() == 0


def test_enforcement_reads_a_filed_case_again_at_its_conclusion_limit(monkeypatch):
    from services.enforcement.application import Enforcement
    from tests.unit.test_enforcement_application import START, cases, feed, violation

    clock = FixedClock(START)
    app = Enforcement(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    feed(app, violation(1))
    [case] = cases(app, "COMPLAINT")
    app.act(str(case.id), lambda c: c.file(START + DAY))
    [case] = cases(app, "COMPLAINT")
    read = counting_reads(app, monkeypatch)
    clock.at = START + 2 * DAY
    assert app.flag_overdue() == 0 and len(read) == 1
    read.clear()
    clock.at = case.conclusion_due - timedelta(milliseconds=1)
    assert app.flag_overdue() == 0 and read == []
    clock.at = case.conclusion_due + timedelta(milliseconds=1)
    assert app.flag_overdue() == 1 and cases(app, "COMPLAINT")[0].flagged_overdue == ["CONCLUSION"]
