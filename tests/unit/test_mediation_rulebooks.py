"""Mediation under each rulebook: its time limit, its termination grounds, the
recusal request that suspends (SAMR-20, SAMR-121), the termination notice due
7 working days after the decision and flagged when late."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.bus.clock import Clock
from services.mediation.application import Mediation
from services.mediation.domainmodel import IllegalTransition, MediationCase
from services.routing.calendar import end_of_day
from services.routing.rulebook import RULEBOOKS
from tests.examples import EXAMPLES
from tests.inbound import deliver

UTC = timezone.utc
ACCEPTED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # Monday 1 June 2026, 10:00 in Beijing
DAY = timedelta(days=1)
MS = timedelta(milliseconds=1)


def opened(name: str) -> MediationCase:
    book = RULEBOOKS[name]
    case = MediationCase("TS-1", "AMR-440106", ACCEPTED, mediation_days=book.mediation_days,
                         mediation_unit=book.mediation_unit, rulebook=name)
    case.record_consent("CONSUMER", True, ACCEPTED + DAY)
    case.record_consent("RESPONDENT", True, ACCEPTED + DAY)
    case.schedule(ACCEPTED + 5 * DAY, "调解室", ["李明", "王芳"], ACCEPTED + 2 * DAY)
    return case


@pytest.mark.parametrize("name, last_day", [("SAIC-62", date(2026, 7, 31)), ("SAMR-20", date(2026, 8, 4)),
                                            ("SAMR-121", date(2026, 7, 31))])
def test_the_limit_and_both_sides_of_it(name, last_day):
    case = opened(name)
    due = end_of_day(last_day)
    assert case.mediation_due == due
    assert case.expire_if_due(due) is False
    assert case.expire_if_due(due + MS) is True
    in_time, too_late = opened(name), opened(name)
    in_time.agree("ORAL", "退款", 100, due, oral_consent=("CONSUMER", "RESPONDENT"))
    with pytest.raises(IllegalTransition, match="time limit"):
        too_late.agree("ORAL", "退款", 100, due + MS, oral_consent=("CONSUMER", "RESPONDENT"))


# code -> the rulebooks that have it as a termination ground
TERMINATION = {
    "WITHDRAWN": {"SAIC-62", "SAMR-20", "SAMR-121"},
    "PARTY_REFUSED": {"SAIC-62", "SAMR-20", "SAMR-121"},
    "PARTY_ABSENT": {"SAIC-62", "SAMR-20", "SAMR-121"},
    "LITIGATION_OR_ARBITRATION": {"SAIC-62", "SAMR-20", "SAMR-121"},
    "SELF_SETTLED": {"SAIC-62", "SAMR-20", "SAMR-121"},
    "OTHER": {"SAIC-62", "SAMR-20", "SAMR-121"},
    "NO_AGREEMENT_POSSIBLE": {"SAMR-20", "SAMR-121"},
    "APPRAISAL_DISAGREEMENT": {"SAMR-20", "SAMR-121"},
    "GROUND_FOUND_AFTER_ACCEPTANCE": {"SAMR-20", "SAMR-121"},
    "PARTY_DECEASED_OR_DISSOLVED": {"SAMR-121"},
}


@pytest.mark.parametrize("reason", list(TERMINATION))
@pytest.mark.parametrize("name", list(RULEBOOKS))
def test_termination_grounds_by_rulebook(name, reason):
    case = opened(name)
    if name in TERMINATION[reason]:
        case.terminate(reason, ACCEPTED + 3 * DAY, "说明")
        assert case.termination["reason"] == reason
        assert RULEBOOKS[name].termination_grounds[reason].article
    else:
        with pytest.raises(ValueError, match=name):
            case.terminate(reason, ACCEPTED + 3 * DAY, "说明")


def test_every_rulebook_can_end_at_its_time_limit():
    assert all("TIME_LIMIT_EXCEEDED" in book.termination_grounds for book in RULEBOOKS.values())


@pytest.mark.parametrize("name, suspends", [("SAIC-62", False), ("SAMR-20", True), ("SAMR-121", True)])
def test_a_recusal_request_suspends_mediation_until_the_bureau_decides(name, suspends):
    case = opened(name)
    due = case.mediation_due
    case.request_recusal("李明", "CONSUMER", "调解员是被投诉人的亲属", ACCEPTED + 3 * DAY)
    assert case.is_suspended is suspends and (case.status == "SUSPENDED") is suspends
    if suspends:
        with pytest.raises(IllegalTransition, match="suspended"):
            case.agree("WRITTEN", "退款", 100, ACCEPTED + 4 * DAY)
        with pytest.raises(IllegalTransition, match="suspended"):
            case.schedule(ACCEPTED + 9 * DAY, "调解室", ["王芳"], ACCEPTED + 4 * DAY)
    # The suspension does not stop the clock (see mediation/rules.py).
    assert case.mediation_due == due
    with pytest.raises(IllegalTransition, match="already waiting"):
        case.request_recusal("王芳", "RESPONDENT", "利害关系", ACCEPTED + 3 * DAY)
    case.decide_recusal(False, ACCEPTED + 5 * DAY)
    assert not case.is_suspended and case.panel == ["李明", "王芳"] and case.status == "SCHEDULED"


def test_a_granted_request_takes_the_mediator_off_the_panel_and_resumes():
    case = opened("SAMR-121")
    case.request_recusal("李明", "RESPONDENT", "利害关系", ACCEPTED + 3 * DAY)
    case.decide_recusal(True, ACCEPTED + 4 * DAY)
    assert case.panel == ["王芳"] and not case.is_suspended
    assert case.mediators[0]["ended_by"] == "RECUSED" and case.mediators[0]["requested_by"] == "RESPONDENT"
    with pytest.raises(IllegalTransition, match="no recusal request"):
        case.decide_recusal(True, ACCEPTED + 4 * DAY)


@pytest.mark.parametrize("name, terminated_at, notice_due", [
    ("SAIC-62", ACCEPTED + 3 * DAY, None),
    # Thursday 4 June + 7 working days (Dragon Boat Friday 19 June not one): Monday 15 June
    ("SAMR-20", ACCEPTED + 3 * DAY, end_of_day(date(2026, 6, 15))),
    ("SAMR-121", ACCEPTED + 3 * DAY, end_of_day(date(2026, 6, 15))),
    # Friday 12 June: 15, 16, 17, 18, 22, 23, 24 June
    ("SAMR-121", ACCEPTED + 11 * DAY, end_of_day(date(2026, 6, 24))),
])
def test_the_termination_notice_is_due_seven_working_days_after(name, terminated_at, notice_due):
    case = opened(name)
    case.terminate("PARTY_ABSENT", terminated_at)
    assert case.termination["notice_due"] == notice_due


def test_a_notice_given_in_time_and_one_given_late():
    in_time, late = opened("SAMR-121"), opened("SAMR-121")
    for case in (in_time, late):
        case.terminate("PARTY_ABSENT", ACCEPTED + 3 * DAY)
    due = in_time.termination["notice_due"]
    in_time.notify_termination(due)
    late.notify_termination(due + MS)
    assert in_time.notice == {"at": due, "late": False} and late.notice == {"at": due + MS, "late": True}
    with pytest.raises(IllegalTransition, match="already told"):
        late.notify_termination(due + DAY)
    assert in_time.flag_late_notice(due + 30 * DAY) is False


class FixedClock(Clock):
    def __init__(self, at: datetime):
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at


def test_the_timer_flags_a_notice_not_given_only_after_its_due_time():
    clock = FixedClock(ACCEPTED)
    app = Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    accepted = dict(EXAMPLES["ComplaintAccepted"], complaint_id="TS-1", rulebook="SAMR-20",
                    decided_at=ACCEPTED)
    deliver(app, "mediation", ("ComplaintAccepted", accepted))
    assert app.case("TS-1").mediation_unit == "WORKING_DAYS" and app.case("TS-1").rulebook == "SAMR-20"
    app.act("TS-1", lambda c: c.terminate("PARTY_REFUSED", ACCEPTED + 3 * DAY))
    due = app.case("TS-1").termination["notice_due"]
    clock.at = due
    assert app.flag_late_notices() == 0
    clock.at = due + MS
    assert app.flag_late_notices() == 1 and app.flag_late_notices() == 0
    assert app.case("TS-1").termination["notice_overdue"] is True


def test_an_acceptance_without_a_rulebook_opens_under_order_62():
    app = Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=Clock())
    accepted = {k: v for k, v in EXAMPLES["ComplaintAccepted"].items() if k != "rulebook"}
    deliver(app, "mediation", ("ComplaintAccepted", dict(accepted, complaint_id="TS-OLD")))
    case = app.case("TS-OLD")
    assert (case.rulebook, case.mediation_days, case.mediation_unit) == ("SAIC-62", 60, "DAYS")


def test_a_session_cannot_be_set_after_the_time_limit():
    case = opened("SAMR-121")
    due = case.mediation_due
    case.schedule(due, "调解室", ["王芳"], ACCEPTED + 3 * DAY)
    with pytest.raises(IllegalTransition, match="after the time limit"):
        case.schedule(due + MS, "调解室", ["王芳"], ACCEPTED + 3 * DAY)


@pytest.mark.parametrize("name, chosen_by, allowed", [
    ("SAIC-62", "PARTIES_AGREED", True), ("SAIC-62", "BUREAU_DESIGNATED", False),
    ("SAMR-20", "BUREAU_DESIGNATED", False), ("SAMR-121", "BUREAU_DESIGNATED", True),
])
def test_who_chose_the_appraisal_body_and_who_pays(name, chosen_by, allowed):
    case = opened(name)
    if not allowed:
        with pytest.raises(ValueError, match="art. 22"):
            case.start_appraisal("检测机构", "RESPONDENT", ACCEPTED + 3 * DAY, body_chosen_by=chosen_by)
        return
    case.start_appraisal("检测机构", "RESPONDENT", ACCEPTED + 3 * DAY, body_chosen_by=chosen_by)
    assert case.appraisals[0]["payer"] == "RESPONDENT" and case.appraisals[0]["body_chosen_by"] == chosen_by


@pytest.mark.parametrize("name, consent, accepted", [
    ("SAMR-20", [], True),                        # art. 22: performed on the spot, no document needed
    ("SAMR-121", ["CONSUMER"], True),             # art. 24: the same
    ("SAMR-121", None, True),                     # no consent named: none recorded
    ("SAIC-62", ["CONSUMER", "RESPONDENT"], False),  # only both parties' waiver spares the document
])
def test_an_oral_agreement_performed_at_once_needs_no_waiver_under_orders_20_and_121(name, consent, accepted):
    case = opened(name)
    agree = lambda: case.agree("ORAL", "当场退款500元", 50000, ACCEPTED + 5 * DAY,  # noqa: E731
                               oral_consent=consent, performed_at_once=True)
    if accepted:
        agree()
        assert case.agreement["performed_at_once"] is True and case.status == "AGREED"
        assert case.agreement.get("oral_consent", []) == (consent or [])
    else:
        with pytest.raises(ValueError, match="performed_at_once: under SAIC-62"):
            agree()
        assert case.agreement is None


def test_performed_at_once_is_for_an_oral_agreement():
    case = opened("SAMR-121")
    with pytest.raises(ValueError, match="a WRITTEN one has its document"):
        case.agree("WRITTEN", "退款", 100, ACCEPTED + 5 * DAY, performed_at_once=True)
    with pytest.raises(ValueError, match="missing RESPONDENT"):
        case.agree("ORAL", "退款", 100, ACCEPTED + 5 * DAY, oral_consent=["CONSUMER"])
    assert case.agreement is None
