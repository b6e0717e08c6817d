"""The penalty case: its own id, every step of the procedure, every refusal,
and the filing and conclusion time limits."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from eventsourcing.application import Application

from services.enforcement.domainmodel import IllegalTransition, PenaltyCase
from services.enforcement.rules import Limits
from services.routing import calendar
from services.routing.calendar import end_of_day

RECEIVED = datetime(2024, 3, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
MS = timedelta(milliseconds=1)
BUREAU = {"by_agency": "AMR-310115", "by_role": "CASE_WORKER"}
RESPONDENT = {"name": "上海某某电器有限公司", "uscc": "91310115mA1K3YJ12X"}


def lead(**kwargs) -> PenaltyCase:
    args = dict(origin="COMPLAINT", source_key="violation-event-1", complaint_ids=["C-2024-0001"],
                respondent=RESPONDENT, violation_type="COUNTERFEIT", agency_id="AMR-310115",
                evidence="商品标签与正品不符", received_at=RECEIVED)
    return PenaltyCase(**{**args, **kwargs})


def filed() -> PenaltyCase:
    case = lead()
    case.file(RECEIVED + 2 * DAY)
    return case


def investigating() -> PenaltyCase:
    case = filed()
    case.start_investigation(RECEIVED + 3 * DAY)
    return case


def decided() -> PenaltyCase:
    case = investigating()
    case.decide(500000, "《产品质量法》第五十条", RECEIVED + 40 * DAY)
    return case


def closed() -> PenaltyCase:
    case = decided()
    case.close("罚款已缴纳", RECEIVED + 50 * DAY)
    return case


def declined() -> PenaltyCase:
    case = lead()
    case.decline_filing("违法事实不成立", RECEIVED + 5 * DAY)
    return case


def new_events(case: PenaltyCase) -> list[str]:
    return [type(e).__qualname__ for e in case.collect_events()]


LATER = RECEIVED + 60 * DAY
COMMANDS = {
    "file": lambda case: case.file(LATER),
    "decline_filing": lambda case: case.decline_filing("不予立案", LATER),
    "start_investigation": lambda case: case.start_investigation(LATER),
    "decide": lambda case: case.decide(1000, "依据", LATER),
    "close": lambda case: case.close("结案", LATER),
}
STATES = {"LEAD": lead, "FILED": filed, "INVESTIGATING": investigating, "DECIDED": decided,
          "CLOSED": closed, "DECLINED": declined}
ALLOWED = {
    "LEAD": {"file", "decline_filing", "start_investigation"},
    "FILED": {"start_investigation"},
    "INVESTIGATING": {"decide"},
    "DECIDED": {"close"},
    "CLOSED": set(),
    "DECLINED": set(),
}
REFUSED = [(state, command) for state in STATES for command in COMMANDS if command not in ALLOWED[state]]


# -- identity ----------------------------------------------------------------------

def test_a_replayed_lead_reaches_the_same_case():
    assert lead().id == lead().id == PenaltyCase.create_id("COMPLAINT", "violation-event-1")
    assert lead(source_key="violation-event-2").id != lead().id


def test_a_report_and_a_violation_with_the_same_key_are_different_cases():
    assert PenaltyCase.create_id("REPORT", "C-2024-0001") != PenaltyCase.create_id("COMPLAINT", "C-2024-0001")


def test_the_case_has_its_own_id_and_a_number_people_can_read():
    case = lead()
    assert str(case.id) not in case.complaint_ids
    assert case.case_number == "PC-" + case.id.hex[:12].upper()
    assert case.case_number == lead().case_number != lead(source_key="other").case_number


# -- opening -----------------------------------------------------------------------

def test_a_lead_is_received_and_waits_for_filing():
    case = lead(**BUREAU, **Limits().case_limits())
    assert case.status == "LEAD" and not case.is_final
    # 市场监督管理行政处罚程序规定 art. 18: 15 working days after Friday 1 March 2024, the 22nd.
    assert case.filing_due == end_of_day(date(2024, 3, 22))
    assert case.conclusion_due is None
    [event] = case.collect_events()
    assert type(event).__qualname__ == "PenaltyCase.Opened"
    assert (event.by_agency, event.by_role) == ("AMR-310115", "CASE_WORKER")
    assert (event.origin, event.complaint_ids, event.violation_type) == ("COMPLAINT", ["C-2024-0001"], "COUNTERFEIT")


def test_a_lead_stored_before_its_unit_was_keeps_counting_calendar_days():
    # 15 days after Friday 1 March 2024 is Saturday 16 March: the limit runs to Monday the 18th.
    app = Application()
    app.save(lead())
    [stored] = app.recorder.select_events(lead().id)
    state = json.loads(stored.state)
    assert state.pop("filing_unit") == "DAYS"
    stored = stored.__class__(**{**stored.__dict__, "state": json.dumps(state).encode()})
    old = app.mapper.to_domain_event(stored).mutate(None)
    assert old.filing_due == end_of_day(date(2024, 3, 18))


def test_the_time_limits_come_from_the_rulebook():
    case = lead(**Limits(filing_days=30, filing_unit="DAYS", conclusion_days=60).case_limits())
    assert case.filing_due == end_of_day(date(2024, 4, 1))  # 31 March, a Sunday
    case.file(RECEIVED + DAY)
    assert case.conclusion_due == end_of_day(date(2024, 5, 6))  # 1 May: Labour Day, off to the 5th


def test_received_at_in_beijing_time_is_kept_in_utc():
    beijing = timezone(timedelta(hours=8))
    case = lead(received_at=datetime(2024, 3, 1, 10, 0, tzinfo=beijing))
    assert case.received_at == RECEIVED and case.received_at.tzinfo == timezone.utc


def test_the_respondent_keeps_name_and_credit_code_only():
    case = lead(respondent={"name": " 某店 ", "uscc": "91310115ma1k3yj12x", "phone": "13800000000"})
    assert case.respondent == {"name": "某店", "uscc": "91310115MA1K3YJ12X"}
    assert lead(respondent={"name": "某店"}).respondent == {"name": "某店", "uscc": None}


def test_a_complaint_listed_twice_is_one_complaint():
    assert lead(complaint_ids=["C-1", "C-2", "C-1"]).complaint_ids == ["C-1", "C-2"]


@pytest.mark.parametrize("bad", [
    {"origin": "RUMOUR"}, {"violation_type": "LITTERING"}, {"complaint_ids": []},
    {"respondent": {"name": " "}}, {"agency_id": ""}, {"received_at": datetime(2024, 3, 1)},
    {"filing_days": 0}, {"conclusion_days": -1}, {"source_key": ""},
])
def test_a_malformed_lead_is_refused(bad):
    with pytest.raises(ValueError):
        lead(**bad)


# -- the procedure ------------------------------------------------------------------

def test_filing_starts_the_conclusion_clock():
    case = lead()
    case.collect_events()
    case.file(RECEIVED + 2 * DAY, **BUREAU)
    assert case.status == "FILED" and case.filed_at == RECEIVED + 2 * DAY
    assert case.conclusion_due == end_of_day(date(2024, 6, 3))  # 90 days after 3 March: Saturday 1 June
    [event] = case.collect_events()
    assert type(event).__qualname__ == "PenaltyCase.Filed" and event.by_role == "CASE_WORKER"


def test_investigating_an_unfiled_lead_files_it_at_the_same_moment():
    case = lead()
    case.collect_events()
    case.start_investigation(RECEIVED + 4 * DAY, **BUREAU)
    assert new_events(case) == ["PenaltyCase.Filed", "PenaltyCase.InvestigationStarted"]
    assert case.status == "INVESTIGATING"
    assert case.filed_at == case.investigation_started_at == RECEIVED + 4 * DAY


def test_investigating_a_filed_case_only_starts_the_investigation():
    case = filed()
    case.collect_events()
    case.start_investigation(RECEIVED + 3 * DAY)
    assert new_events(case) == ["PenaltyCase.InvestigationStarted"]
    assert case.filed_at == RECEIVED + 2 * DAY


def test_a_penalty_is_decided_then_the_case_closes():
    case = investigating()
    case.collect_events()
    case.decide(500000, "《产品质量法》第五十条", RECEIVED + 40 * DAY, **BUREAU)
    assert case.status == "DECIDED"
    assert case.decision == {"fine_fen": 500000, "basis": "《产品质量法》第五十条", "no_penalty": False,
                             "at": RECEIVED + 40 * DAY}
    case.close("罚款已缴纳", RECEIVED + 50 * DAY, **BUREAU)
    assert case.status == "CLOSED" and case.is_final
    assert case.closure == {"outcome": "罚款已缴纳", "at": RECEIVED + 50 * DAY}
    assert new_events(case) == ["PenaltyCase.Decided", "PenaltyCase.Closed"]


@pytest.mark.parametrize("fine_fen", [-1, 10**15 + 1, 2**63])
def test_a_fine_no_sum_comes_to_is_refused_naming_it(fine_fen):
    case = investigating()
    with pytest.raises(ValueError, match="fine_fen") as refused:
        case.decide(fine_fen, "《产品质量法》第五十条", RECEIVED + 40 * DAY)
    assert refused.value.field == "fine_fen" and case.decision is None


def test_no_penalty_is_a_decision_too():
    case = investigating()
    case.decide(0, "违法行为轻微并及时改正", RECEIVED + 10 * DAY, no_penalty=True)
    assert case.decision["no_penalty"] is True and case.decision["fine_fen"] == 0
    warning = investigating()
    warning.decide(0, "警告", RECEIVED + 10 * DAY)
    assert warning.decision["no_penalty"] is False


@pytest.mark.parametrize("fine, no_penalty", [(-1, False), (1.5, False), (True, False), (100, True)])
def test_a_decision_with_an_impossible_fine_is_refused(fine, no_penalty):
    case = investigating()
    with pytest.raises(ValueError):
        case.decide(fine, "依据", RECEIVED + 10 * DAY, no_penalty=no_penalty)
    assert case.status == "INVESTIGATING"


def test_declining_to_file_is_final_and_says_why():
    case = lead()
    case.collect_events()
    case.decline_filing("违法事实不成立", RECEIVED + 5 * DAY, **BUREAU)
    assert case.status == "DECLINED" and case.is_final
    assert case.declined == {"reason": "违法事实不成立", "at": RECEIVED + 5 * DAY}
    assert new_events(case) == ["PenaltyCase.FilingDeclined"]


@pytest.mark.parametrize("state, command", REFUSED)
def test_an_out_of_order_command_is_refused_and_leaves_nothing(state, command):
    case = STATES[state]()
    case.collect_events()
    version = case.version
    with pytest.raises(IllegalTransition) as refusal:
        COMMANDS[command](case)
    assert refusal.value.current_state == state and state in str(refusal.value)
    assert case.collect_events() == [] and case.version == version and case.status == state


def test_a_step_dated_before_the_previous_one_is_refused():
    case = filed()
    with pytest.raises(ValueError, match="previous step"):
        case.start_investigation(RECEIVED + 2 * DAY - SECOND)
    with pytest.raises(ValueError):
        lead().file(RECEIVED - SECOND)
    with pytest.raises(ValueError):
        filed().file(datetime(2024, 3, 5))  # naive: its instant is unknown


# -- linking complaints ---------------------------------------------------------------

def test_a_further_complaint_joins_once():
    case = investigating()
    case.collect_events()
    assert case.link_complaint("C-2024-0009", RECEIVED + 6 * DAY, **BUREAU) is True
    assert case.complaint_ids == ["C-2024-0001", "C-2024-0009"]
    assert new_events(case) == ["PenaltyCase.ComplaintLinked"]
    assert case.link_complaint("C-2024-0009", RECEIVED + 7 * DAY) is False
    assert case.link_complaint("C-2024-0001", RECEIVED + 7 * DAY) is False
    assert case.collect_events() == [] and case.complaint_ids == ["C-2024-0001", "C-2024-0009"]


@pytest.mark.parametrize("ended", [closed, declined])
def test_an_ended_case_takes_no_new_complaint_but_a_redelivered_link_is_harmless(ended):
    case = ended()
    case.collect_events()
    with pytest.raises(IllegalTransition) as refusal:
        case.link_complaint("C-2024-0009", LATER)
    assert refusal.value.current_state == case.status
    assert case.link_complaint("C-2024-0001", LATER) is False
    assert case.collect_events() == []


# -- time limits -----------------------------------------------------------------------

def test_a_lead_not_filed_in_time_is_overdue_for_filing():
    case = lead()
    assert case.overdue(case.filing_due) == []
    assert case.overdue(case.filing_due + MS) == ["FILING"]


def test_a_filed_case_not_decided_in_time_is_overdue_for_conclusion():
    late_filing = lead()
    late_filing.file(RECEIVED + 20 * DAY)
    assert late_filing.overdue(RECEIVED + 20 * DAY) == []
    case = investigating()
    assert case.overdue(case.conclusion_due) == []
    assert case.overdue(case.conclusion_due + MS) == ["CONCLUSION"]


@pytest.mark.parametrize("settled", [decided, closed, declined])
def test_a_decided_or_ended_case_is_never_overdue(settled):
    assert settled().overdue(RECEIVED + 1000 * DAY) == []


# -- storage ---------------------------------------------------------------------------

def test_the_case_survives_the_event_store():
    app = Application()
    case = decided()
    case.link_complaint("C-2024-0009", RECEIVED + 41 * DAY)
    app.save(case)
    again = app.repository.get(case.id)
    assert again.status == "DECIDED" and again.case_number == case.case_number
    assert again.complaint_ids == ["C-2024-0001", "C-2024-0009"]
    assert again.decision == case.decision and again.respondent == case.respondent
    assert (again.filing_due, again.conclusion_due) == (case.filing_due, case.conclusion_due)
    again.close("罚款已缴纳", RECEIVED + 50 * DAY)
    app.save(again)
    assert app.repository.get(case.id).status == "CLOSED"


def test_a_lead_from_mediation_is_due_when_its_check_is():
    """SAMR-20 art. 23 / SAMR-121 art. 27: checked within 15 working days of its finding."""
    check_due = end_of_day(date(2024, 3, 22))
    case = lead(check_due=check_due)
    assert case.filing_due == check_due
    assert case.overdue(check_due) == [] and case.overdue(check_due + MS) == ["FILING"]


# -- the check period of a lead found in mediation, and its extension (SAMR-121 art. 27) --

HEAD = {"by_agency": "AMR-310115", "by_role": "SUPERVISOR"}


def checked_lead(last_day: date) -> PenaltyCase:
    return lead(received_at=end_of_day(last_day) - 20 * DAY, check_due=end_of_day(last_day))


@pytest.mark.parametrize("last_day, extended_to, provisional", [
    (date(2026, 3, 6), date(2026, 3, 27), False),     # a Friday: three plain weeks
    (date(2026, 2, 6), date(2026, 3, 5), False),      # across the Spring Festival (15-23 Feb), its Saturdays worked
    (date(2026, 2, 13), date(2026, 3, 12), False),    # the Saturday before it, 14 Feb, is a working day
    (date(2026, 9, 25), date(2026, 10, 22), False),   # across National Day (1-7 Oct); Saturday 10 Oct worked
    (date(2026, 12, 18), date(2027, 1, 11), True),    # into 2027, whose notice is not loaded: New Year kept off
])
def test_the_heads_approval_extends_the_check_by_fifteen_working_days(last_day, extended_to, provisional):
    case = checked_lead(last_day)
    case.collect_events()
    case.extend_check("张局长", "需调取平台交易记录", end_of_day(last_day) - DAY, **HEAD)
    assert new_events(case) == ["PenaltyCase.CheckExtended"]
    assert case.check_due == case.filing_due == end_of_day(extended_to)
    assert case.check_extension["approved_by"] == "张局长" and case.check_extension["from"] == end_of_day(last_day)
    assert case.check_extension["provisional"] is provisional
    # Late only once the extended period has passed.
    assert case.overdue(end_of_day(last_day) + DAY) == []
    assert case.overdue(end_of_day(extended_to) + MS) == ["FILING"]


def test_without_an_extension_the_lead_is_late_the_day_after_its_check_period():
    case = checked_lead(date(2026, 3, 6))
    assert case.overdue(end_of_day(date(2026, 3, 6))) == []
    assert case.flag_overdue(end_of_day(date(2026, 3, 6)) + MS) == ["FILING"]


@pytest.mark.parametrize("case, at, refusal", [
    (lambda: checked_lead(date(2026, 3, 6)), end_of_day(date(2026, 3, 6)) + MS, "ended at"),
    (lambda: lead(), RECEIVED + DAY, "no check period"),   # counted in calendar days, as leads were once
    (lambda: _extended(), end_of_day(date(2026, 3, 20)), "already extended"),
    (lambda: _filed_checked(), end_of_day(date(2026, 3, 4)), "not yet filed"),
])
def test_an_extension_is_refused_after_the_period_twice_or_without_a_period(case, at, refusal):
    subject = case()
    before = subject.check_due
    with pytest.raises(IllegalTransition, match=refusal):
        subject.extend_check("张局长", "需调取平台交易记录", at, **HEAD)
    assert subject.check_due == before


def test_any_lead_counted_in_working_days_may_have_its_filing_period_extended_once():
    # 市场监督管理行政处罚程序规定 art. 18: 十五个工作日内...特殊情况下，经负责人批准，可以延长十五个工作日.
    case = lead(filing_days=15, filing_unit="WORKING_DAYS")
    before = case.filing_due
    case.extend_check("张局长", "需调取平台交易记录", before - DAY, **HEAD)
    assert case.filing_due == case.check_due > before
    assert (calendar.china_date(case.filing_due) - calendar.china_date(before)).days >= 15 + 4  # three weekends
    assert case.flag_overdue(before + MS) == []
    with pytest.raises(IllegalTransition, match="already extended"):
        case.extend_check("张局长", "还需时间", before, **HEAD)


def _extended() -> PenaltyCase:
    case = checked_lead(date(2026, 3, 6))
    case.extend_check("张局长", "需调取平台交易记录", end_of_day(date(2026, 3, 5)), **HEAD)
    return case


def _filed_checked() -> PenaltyCase:
    case = checked_lead(date(2026, 3, 6))
    case.file(end_of_day(date(2026, 3, 2)))
    return case


@pytest.mark.parametrize("approved_by, reason", [("", "理由"), ("张局长", " "), (None, "理由")])
def test_an_extension_names_who_approved_it_and_why(approved_by, reason):
    with pytest.raises(ValueError):
        checked_lead(date(2026, 3, 6)).extend_check(approved_by, reason, end_of_day(date(2026, 3, 2)), **HEAD)


def test_the_extension_is_the_rulebooks():
    from services.enforcement.rules import CHECK_EXTENSION
    from services.routing.rulebook import SAMR_ORDER_20, SAMR_ORDER_121

    for book in (SAMR_ORDER_20, SAMR_ORDER_121):
        assert (book.violation_check_extension.length, book.violation_check_extension.unit) == \
            (CHECK_EXTENSION.length, CHECK_EXTENSION.unit)


@pytest.mark.parametrize("state, said", [("CLOSED", "the case is closed"), ("DECLINED", "filing was declined")])
def test_an_ended_case_refuses_every_step_saying_it_ended(state, said):
    for command in COMMANDS.values():
        with pytest.raises(IllegalTransition, match=said):
            command(STATES[state]())
