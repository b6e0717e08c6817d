"""The mediation case: every transition, every refusal, and the time limit
counted as a legal period (the acceptance day not counted, the limit ending at
24:00 China time of its last day, an appraisal's days not counted)."""
from datetime import date, datetime, timedelta, timezone

import pytest
from eventsourcing.application import Application

from services.mediation.domainmodel import IllegalTransition, MediationCase
from services.routing.calendar import end_of_day

ACCEPTED = datetime(2024, 6, 3, 2, 0, tzinfo=timezone.utc)  # 10:00 on Monday 3 June in Beijing
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
MS = timedelta(milliseconds=1)


def end(month: int, day: int) -> datetime:
    return end_of_day(date(2024, month, day))


DUE = end(8, 2)  # the 60th day after 3 June, a Friday
BUREAU = {"by_agency": "AMR-310115", "by_role": "CASE_WORKER"}
BOTH = ("CONSUMER", "RESPONDENT")


def opened(**kwargs) -> MediationCase:
    return MediationCase("C-2024-0001", "AMR-310115", ACCEPTED, **kwargs)


def consented() -> MediationCase:
    case = opened()
    case.record_consent("CONSUMER", True, ACCEPTED + DAY)
    case.record_consent("RESPONDENT", True, ACCEPTED + DAY)
    return case


def scheduled() -> MediationCase:
    case = consented()
    case.schedule(ACCEPTED + 5 * DAY, "浦东新区市场监管局调解室", ["李明", "王芳"], ACCEPTED + 2 * DAY)
    return case


def terminated() -> MediationCase:
    case = scheduled()
    case.terminate("WITHDRAWN", ACCEPTED + 3 * DAY)
    return case


def agreed() -> MediationCase:
    case = scheduled()
    case.agree("WRITTEN", "商家退还货款2599元。", 259900, ACCEPTED + 5 * DAY)
    return case


def new_events(case: MediationCase) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


def assert_refused(case: MediationCase, command, state: str) -> IllegalTransition:
    case.collect_events()
    version, status = case.version, case.status
    with pytest.raises(IllegalTransition) as refusal:
        command(case)
    assert refusal.value.current_state == state
    assert state in str(refusal.value)
    assert case.collect_events() == [] and case.version == version and case.status == status
    return refusal.value


# -- opening ---------------------------------------------------------------------

def test_a_replayed_acceptance_reaches_the_same_case():
    assert opened().id == MediationCase.create_id("C-2024-0001") == opened().id
    assert MediationCase.create_id("C-2024-0002") != opened().id


def test_opening_starts_the_clock_and_waits_for_consent():
    case = opened(**BUREAU)
    assert case.status == "AWAITING_CONSENT"
    assert case.mediation_due == DUE and not case.is_paused
    [event] = case.collect_events()
    assert type(event).__qualname__ == "MediationCase.Opened"
    assert (event.by_agency, event.by_role) == ("AMR-310115", "CASE_WORKER")


def test_the_number_of_days_comes_from_the_rulebook():
    assert opened(mediation_days=30).mediation_due == end(7, 3)
    # SAMR Order No. 20: 45 working days; the Dragon Boat Festival (10 June) is not one
    assert opened(mediation_days=45, mediation_unit="WORKING_DAYS", rulebook="SAMR-20").mediation_due == end(8, 6)


def test_acceptance_time_in_beijing_time_is_kept_in_utc():
    beijing = timezone(timedelta(hours=8))
    case = MediationCase("C-1", "AMR-310115", datetime(2024, 6, 3, 10, 0, tzinfo=beijing))
    assert case.accepted_at == ACCEPTED and case.accepted_at.tzinfo == timezone.utc


@pytest.mark.parametrize("kwargs", [
    {"accepted_at": datetime(2024, 3, 1, 10, 0)},
    {"complaint_id": " "},
    {"mediation_days": 0},
])
def test_opening_refuses_bad_input(kwargs):
    args = {"complaint_id": "C-1", "agency_id": "AMR-310115", "accepted_at": ACCEPTED, **kwargs}
    with pytest.raises(ValueError):
        MediationCase(**args)


def test_the_public_view_keeps_no_personal_data():
    case = opened(public={"respondent": {"name": "某电器公司", "uscc": "91310115MA1K4XXXXX", "address": "某路1号"},
                          "subject_area": "GOODS_QUALITY", "city_adcode": "310100",
                          "consumer": {"name": "张三", "phone": "13800000000"}})
    assert case.public == {"respondent": {"name": "某电器公司", "uscc": "91310115MA1K4XXXXX"},
                           "subject_area": "GOODS_QUALITY", "city_adcode": "310100", "received_at": None}


# -- consent ---------------------------------------------------------------------

def test_both_parties_must_agree_before_the_case_is_open():
    case = opened()
    case.record_consent("CONSUMER", True, ACCEPTED + DAY, **BUREAU)
    assert case.status == "AWAITING_CONSENT" and not case.both_consented
    case.record_consent("RESPONDENT", True, ACCEPTED + DAY)
    assert case.status == "OPEN" and case.both_consented
    assert case.consents["CONSUMER"] == {"agreed": True, "at": ACCEPTED + DAY}


@pytest.mark.parametrize("earlier", [[], [("CONSUMER", True)], [("RESPONDENT", True), ("CONSUMER", True)]])
def test_a_refusal_terminates_in_the_same_command(earlier):
    case = opened()
    for party, agreed_ in earlier:
        case.record_consent(party, agreed_, ACCEPTED + DAY)
    case.collect_events()
    case.record_consent("RESPONDENT", False, ACCEPTED + 2 * DAY, **BUREAU)
    events = case.collect_events()
    assert [type(e).__name__ for e in events] == ["ConsentRecorded", "Terminated"]
    assert all((e.by_agency, e.by_role) == ("AMR-310115", "CASE_WORKER") for e in events)
    assert case.status == "TERMINATED"
    assert case.termination == {"reason": "PARTY_REFUSED", "at": ACCEPTED + 2 * DAY, "text": None,
                                "notice_due": None}


def test_a_party_cannot_agree_twice():
    case = opened()
    case.record_consent("CONSUMER", True, ACCEPTED + DAY)
    assert_refused(case, lambda c: c.record_consent("CONSUMER", True, ACCEPTED + DAY), "AWAITING_CONSENT")


@pytest.mark.parametrize("party, agreed_", [("OPERATOR", True), ("CONSUMER", "yes")])
def test_consent_refuses_bad_input(party, agreed_):
    with pytest.raises(ValueError):
        opened().record_consent(party, agreed_, ACCEPTED)


def test_consent_cannot_be_recorded_after_the_time_limit():
    case = opened()
    case.record_consent("CONSUMER", True, DUE)  # the last millisecond of the last day is in time
    assert_refused(case, lambda c: c.record_consent("RESPONDENT", True, DUE + MS), "AWAITING_CONSENT")


# -- scheduling --------------------------------------------------------------------

def test_scheduling_needs_both_consents():
    case = opened()
    case.record_consent("CONSUMER", True, ACCEPTED)
    refusal = assert_refused(case, lambda c: c.schedule(ACCEPTED + 5 * DAY, "调解室", ["李明"], ACCEPTED),
                             "AWAITING_CONSENT")
    assert "both parties" in str(refusal)


def test_scheduling_tells_time_place_and_mediators():
    case = consented()
    case.collect_events()
    case.schedule(ACCEPTED + 5 * DAY, "调解室", ["李明", "王芳"], ACCEPTED + 2 * DAY, **BUREAU)
    [event] = case.collect_events()
    assert type(event).__name__ == "Scheduled" and event.by_agency == "AMR-310115"
    assert case.status == "SCHEDULED" and case.panel == ["李明", "王芳"]
    assert case.sessions == [{"session_at": ACCEPTED + 5 * DAY, "place": "调解室", "mediators": ["李明", "王芳"],
                              "scheduled_at": ACCEPTED + 2 * DAY}]


def test_a_session_is_scheduled_ahead_not_in_the_past():
    case = consented()
    with pytest.raises(ValueError) as refused:
        case.schedule(ACCEPTED + DAY, "调解室", ["李明"], ACCEPTED + 2 * DAY)
    assert refused.value.field == "session_at" and case.sessions == []
    # A case that has ended says so first, whatever the session's time.
    case.terminate("SELF_SETTLED", ACCEPTED + 3 * DAY)
    assert_refused(case, lambda c: c.schedule(ACCEPTED + DAY, "调解室", ["李明"], ACCEPTED + 4 * DAY), "TERMINATED")


def test_rescheduling_keeps_the_history_of_sessions_and_mediators():
    case = scheduled()
    case.schedule(ACCEPTED + 9 * DAY, "调解室二", ["王芳", "赵强"], ACCEPTED + 4 * DAY)
    assert [s["place"] for s in case.sessions] == ["浦东新区市场监管局调解室", "调解室二"]
    assert case.panel == ["王芳", "赵强"]
    seats = {(m["mediator"], m["from_at"], m["to_at"], m["ended_by"]) for m in case.mediators}
    assert seats == {("李明", ACCEPTED + 2 * DAY, ACCEPTED + 4 * DAY, "REPLACED"),
                     ("王芳", ACCEPTED + 2 * DAY, None, None),
                     ("赵强", ACCEPTED + 4 * DAY, None, None)}


@pytest.mark.parametrize("mediators", [[], ["李明", "李明"], [""], "李明"])
def test_a_panel_names_someone_and_nobody_twice(mediators):
    with pytest.raises(ValueError):
        consented().schedule(ACCEPTED + 5 * DAY, "调解室", mediators, ACCEPTED)


def test_a_session_needs_a_place_and_an_aware_time():
    with pytest.raises(ValueError):
        consented().schedule(ACCEPTED + 5 * DAY, " ", ["李明"], ACCEPTED)
    with pytest.raises(ValueError):
        consented().schedule(datetime(2024, 3, 6, 10), "调解室", ["李明"], ACCEPTED)


def test_a_recused_mediator_does_not_return_to_the_case():
    case = scheduled()
    case.recuse("李明", "与被投诉人有利害关系", ACCEPTED + 3 * DAY)
    refusal = assert_refused(case, lambda c: c.schedule(ACCEPTED + 9 * DAY, "调解室", ["李明", "王芳"],
                                                        ACCEPTED + 4 * DAY), "SCHEDULED")
    assert "李明" in str(refusal)


# -- recusal -------------------------------------------------------------------------

def test_recusal_keeps_who_mediated_when():
    case = scheduled()
    case.collect_events()
    case.recuse("李明", "与被投诉人有利害关系", ACCEPTED + 3 * DAY, requested_by="CONSUMER", **BUREAU)
    [event] = case.collect_events()
    assert type(event).__name__ == "MediatorRecused" and event.by_role == "CASE_WORKER"
    assert case.panel == ["王芳"] and case.status == "SCHEDULED"
    assert case.mediators[0] == {"mediator": "李明", "from_at": ACCEPTED + 2 * DAY, "to_at": ACCEPTED + 3 * DAY,
                                 "ended_by": "RECUSED", "reason": "与被投诉人有利害关系", "requested_by": "CONSUMER"}
    assert case.mediators[1]["to_at"] is None


def test_without_a_panel_the_case_must_be_scheduled_again():
    case = scheduled()
    case.recuse("李明", "本人申请回避", ACCEPTED + 3 * DAY)
    case.recuse("王芳", "本人申请回避", ACCEPTED + 3 * DAY)
    assert case.panel == [] and case.status == "OPEN"


@pytest.mark.parametrize("who", ["赵强", "李明 "])
def test_recusing_someone_not_on_the_panel_is_refused(who):
    case = scheduled()
    case.schedule(ACCEPTED + 9 * DAY, "调解室", ["王芳"], ACCEPTED + 3 * DAY)  # 李明 left the panel
    refusal = assert_refused(case, lambda c: c.recuse(who, "利害关系", ACCEPTED + 4 * DAY), "SCHEDULED")
    assert who.strip() in str(refusal)


def test_a_mediator_cannot_step_aside_before_joining():
    with pytest.raises(ValueError):
        scheduled().recuse("李明", "利害关系", ACCEPTED + DAY)


def test_recusal_refuses_an_unknown_requesting_party():
    with pytest.raises(ValueError):
        scheduled().recuse("李明", "利害关系", ACCEPTED + 3 * DAY, requested_by="BUREAU")


# -- appraisal ----------------------------------------------------------------------

def test_appraisal_pauses_the_clock():
    case = scheduled()
    case.collect_events()
    case.start_appraisal("上海市质量监督检验技术研究院", "CLAIMANT", ACCEPTED + 10 * DAY, **BUREAU)
    assert new_events(case) == ["AppraisalStarted"]
    assert case.status == "IN_APPRAISAL" and case.is_paused and case.mediation_due is None
    case.complete_appraisal(ACCEPTED + 14 * DAY, result="存在质量缺陷")
    assert new_events(case) == ["AppraisalCompleted"]
    assert case.status == "SCHEDULED" and not case.is_paused
    assert case.appraisals == [{"body": "上海市质量监督检验技术研究院", "payer": "CLAIMANT",
                                "started_at": ACCEPTED + 10 * DAY, "completed_at": ACCEPTED + 14 * DAY,
                                "result": "存在质量缺陷", "body_chosen_by": "PARTIES_AGREED"}]


def test_appraisal_needs_both_consents():
    assert_refused(opened(), lambda c: c.start_appraisal("检测机构", "SHARED", ACCEPTED), "AWAITING_CONSENT")


def test_only_one_appraisal_at_a_time():
    case = consented()
    case.start_appraisal("检测机构", "SHARED", ACCEPTED + 2 * DAY)
    assert_refused(case, lambda c: c.start_appraisal("另一机构", "SHARED", ACCEPTED + 3 * DAY), "IN_APPRAISAL")


def test_completing_an_appraisal_that_was_not_started_is_refused():
    refusal = assert_refused(consented(), lambda c: c.complete_appraisal(ACCEPTED + 3 * DAY), "OPEN")
    assert "no appraisal" in str(refusal)


def test_appraisal_times_must_not_overlap_or_run_backwards():
    case = consented()
    case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 5 * DAY)
    with pytest.raises(ValueError):
        case.complete_appraisal(ACCEPTED + 4 * DAY)
    case.complete_appraisal(ACCEPTED + 8 * DAY)
    with pytest.raises(ValueError):
        case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 7 * DAY)


def test_appraisal_refuses_an_unknown_payer():
    with pytest.raises(ValueError):
        consented().start_appraisal("检测机构", "BUREAU", ACCEPTED + DAY)


# -- the time limit -------------------------------------------------------------------

def test_the_case_expires_only_after_the_end_of_the_sixtieth_day():
    case = scheduled()
    case.collect_events()
    assert case.expire_if_due(DUE) is False
    assert case.collect_events() == [] and case.status == "SCHEDULED"
    assert_refused(case, lambda c: c.terminate("TIME_LIMIT_EXCEEDED", DUE), "SCHEDULED")
    assert case.expire_if_due(DUE + MS, by_agency="AMR-310115", by_role="AGENCY_SYSTEM") is True
    [event] = case.collect_events()
    assert type(event).__name__ == "Terminated" and event.by_role == "AGENCY_SYSTEM"
    assert case.termination == {"reason": "TIME_LIMIT_EXCEEDED", "at": DUE + MS, "text": None, "notice_due": None}
    assert case.expire_if_due(DUE + DAY) is False


@pytest.mark.parametrize("accepted, last_day", [
    (datetime(2024, 6, 3, 15, 59, tzinfo=timezone.utc), date(2024, 8, 2)),   # 23:59 CST on 3 June
    (datetime(2024, 6, 3, 16, 0, tzinfo=timezone.utc), date(2024, 8, 5)),    # 00:00 CST on 4 June: 3 Aug, a Saturday
    (datetime(2026, 8, 2, 2, 0, tzinfo=timezone.utc), date(2026, 10, 8)),    # 1 October: National Day runs to the 7th
    (datetime(2026, 12, 20, 2, 0, tzinfo=timezone.utc), date(2027, 2, 18)),  # 18 Feb 2027: after the provisional Spring Festival
    # 7 Feb 2027 is in the Spring Festival (eve 5 Feb to 8 Feb, known before the notice is)
    (datetime(2026, 12, 9, 2, 0, tzinfo=timezone.utc), date(2027, 2, 9)),
])
def test_sixty_days_end_on_a_working_day(accepted, last_day):
    assert MediationCase("C-1", "AMR-310115", accepted).mediation_due == end_of_day(last_day)


def test_a_late_timer_still_expires_the_case():
    case = opened()
    assert case.expire_if_due(DUE + 3 * DAY) is True and case.termination["at"] == DUE + 3 * DAY


def test_one_appraisal_moves_the_due_date_by_its_days():
    case = consented()
    case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 10 * DAY)           # 13 June, 10:00
    case.complete_appraisal(ACCEPTED + 20 * DAY + 3 * timedelta(hours=1))      # 23 June, 13:00: 14-23 June paused
    assert case.appraisal_time == 10 * DAY + timedelta(hours=3)
    assert case.mediation_due == end(8, 12)  # 2 August and 10 days, a Monday
    assert case.expire_if_due(DUE + MS) is False
    assert case.expire_if_due(case.mediation_due) is False
    assert case.expire_if_due(case.mediation_due + MS) is True


def test_an_appraisal_stored_before_keeps_pausing_every_day_it_touched():
    case = consented()
    # As such an appraisal's event replays: no rule named in it.
    case._appraisal_started(body="检测机构", payer="CLAIMANT", at=ACCEPTED + 10 * DAY, by_agency=None, by_role=None)
    case.complete_appraisal(ACCEPTED + 20 * DAY + 3 * timedelta(hours=1))      # 13-23 June paused
    assert case.mediation_due == end(8, 13)
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(case)
    assert app.repository.get(case.id).mediation_due == end(8, 13)


def test_an_appraisal_begun_and_finished_on_one_day_pauses_no_day():
    case = consented()
    case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 10 * DAY)
    case.complete_appraisal(ACCEPTED + 10 * DAY + timedelta(hours=2))
    assert case.mediation_due == DUE


def test_an_appraisal_over_midnight_pauses_the_day_of_its_result():
    case = consented()
    case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 10 * DAY + timedelta(hours=13))  # 13 June, 23:00
    case.complete_appraisal(ACCEPTED + 11 * DAY - timedelta(hours=9))                      # 14 June, 01:00
    assert case.mediation_due == end(8, 5)  # 3 August, a Saturday, moves to Monday


def test_several_appraisals_add_up():
    case = consented()
    case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 10 * DAY)
    case.complete_appraisal(ACCEPTED + 13 * DAY)
    case.start_appraisal("鉴定机构", "SHARED", ACCEPTED + 30 * DAY)
    case.complete_appraisal(ACCEPTED + 37 * DAY + timedelta(minutes=30))
    assert case.mediation_due == end(8, 12)  # 14-16 June and 4-10 July: 10 days
    assert case.expire_if_due(case.mediation_due) is False
    assert case.expire_if_due(case.mediation_due + MS) is True


def test_a_case_never_expires_while_an_appraisal_is_open():
    case = consented()
    case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 50 * DAY)
    for now in (DUE, DUE + 365 * DAY):
        assert case.expire_if_due(now) is False
    refusal = assert_refused(case, lambda c: c.terminate("TIME_LIMIT_EXCEEDED", DUE + 365 * DAY), "IN_APPRAISAL")
    assert "paused" in str(refusal)
    case.complete_appraisal(ACCEPTED + 80 * DAY)
    assert case.mediation_due == end(9, 2)  # 24 July to 22 August: 30 days; 1 September a Sunday


def test_due_at_projects_the_due_date_while_paused():
    case = consented()
    assert case.due_at(ACCEPTED + 40 * DAY) == DUE
    case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 10 * DAY)
    assert case.due_at(ACCEPTED + 10 * DAY) == DUE         # begun today: no day paused yet
    assert case.due_at(ACCEPTED + 15 * DAY) == end(8, 7)   # 14-18 June
    case.complete_appraisal(ACCEPTED + 15 * DAY)
    assert case.due_at(ACCEPTED + 99 * DAY) == case.mediation_due == end(8, 7)


@pytest.mark.parametrize("command", [
    lambda c: c.schedule(DUE + DAY, "调解室", ["赵强"], DUE + MS),
    lambda c: c.start_appraisal("检测机构", "CLAIMANT", DUE + MS),
    lambda c: c.agree("ORAL", "退款", 100, DUE + MS, oral_consent=BOTH),
])
def test_nothing_new_is_organised_once_the_limit_has_passed(command):
    refusal = assert_refused(scheduled(), command, "SCHEDULED")
    assert "time limit" in str(refusal)


def test_expire_refuses_a_naive_time():
    with pytest.raises(ValueError):
        opened().expire_if_due(datetime(2024, 6, 1))


# -- agreement -----------------------------------------------------------------------

def test_a_written_agreement_ends_the_case():
    case = scheduled()
    case.collect_events()
    case.agree("WRITTEN", "商家退还货款2599元。", 259900, ACCEPTED + 5 * DAY, **BUREAU)
    [event] = case.collect_events()
    assert type(event).__name__ == "Agreed" and event.by_agency == "AMR-310115"
    assert case.status == "AGREED" and case.is_final
    assert case.agreement == {"form": "WRITTEN", "terms": "商家退还货款2599元。",
                              "amount_recovered_fen": 259900, "at": ACCEPTED + 5 * DAY}
    assert case.panel == [] and {m["ended_by"] for m in case.mediators} == {"AGREED"}


def test_an_oral_agreement_is_recorded_by_the_mediator_with_both_parties_consent():
    case = consented()
    case.agree("ORAL", "双方同意不制作调解书,商家更换新机。", 0, ACCEPTED + 3 * DAY,
               oral_consent=["RESPONDENT", "CONSUMER"])
    assert case.status == "AGREED" and case.agreement["form"] == "ORAL"
    assert case.agreement["oral_consent"] == ["CONSUMER", "RESPONDENT"]


@pytest.mark.parametrize("form, recorded", [("ORAL", ["CONSUMER", "RESPONDENT"]), ("WRITTEN", None)])
def test_an_agreement_naming_no_consent_records_what_its_form_says(form, recorded):
    # The contract's body (form, terms, amount) is enough: an ORAL agreement is
    # the mediator's record that both parties agreed to do without a document.
    case = consented()
    case.agree(form, "退款", 100, ACCEPTED + DAY)
    assert case.status == "AGREED" and case.agreement["form"] == form
    assert case.agreement.get("oral_consent") == recorded


@pytest.mark.parametrize("form, given, refusal", [
    ("ORAL", [], "missing CONSUMER, RESPONDENT"),
    ("ORAL", ["CONSUMER"], "missing RESPONDENT"),
    ("ORAL", ["RESPONDENT", "RESPONDENT"], "missing CONSUMER"),
    ("ORAL", ["CONSUMER", "MEDIATOR"], "MEDIATOR is not a party"),
    ("WRITTEN", ["CONSUMER", "RESPONDENT"], "a WRITTEN one is signed"),
])
def test_an_agreement_without_a_document_needs_both_parties_consent(form, given, refusal):
    # Order 20 art. 22, Order 121 art. 24: no mediation document unless both parties agree to do without.
    case = consented()
    with pytest.raises(ValueError, match=f"oral_consent.*{refusal}|{refusal}") as refused:
        case.agree(form, "退款", 100, ACCEPTED + DAY, oral_consent=given)
    assert "oral_consent" in str(refused.value)
    assert case.agreement is None and case.status == "OPEN"


def test_parties_may_settle_before_an_appraisal_result():
    case = consented()
    case.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 3 * DAY)
    case.agree("WRITTEN", "退款", 5000, ACCEPTED + 4 * DAY)
    assert case.status == "AGREED"


def test_agreement_needs_both_consents():
    case = opened()
    case.record_consent("CONSUMER", True, ACCEPTED)
    assert_refused(case, lambda c: c.agree("WRITTEN", "退款", 100, ACCEPTED + DAY), "AWAITING_CONSENT")


def test_a_second_agreement_is_refused():
    assert_refused(agreed(), lambda c: c.agree("ORAL", "再退款", 100, ACCEPTED + 6 * DAY, oral_consent=BOTH), "AGREED")


@pytest.mark.parametrize("form, terms, amount", [
    ("PRINTED", "退款", 100), ("WRITTEN", "", 100), ("ORAL", "退款", -1), ("WRITTEN", "退款", 1.5),
    ("WRITTEN", "退款", True),
])
def test_agreement_refuses_bad_input(form, terms, amount):
    with pytest.raises(ValueError):
        consented().agree(form, terms, amount, ACCEPTED + DAY)


# -- termination ---------------------------------------------------------------------

def test_the_consumer_may_withdraw_before_anyone_consents():
    case = opened()
    case.collect_events()
    case.terminate("WITHDRAWN", ACCEPTED + DAY, **BUREAU)
    [event] = case.collect_events()
    assert type(event).__name__ == "Terminated" and event.reason == "WITHDRAWN"
    assert case.status == "TERMINATED" and case.termination["reason"] == "WITHDRAWN"


def test_termination_closes_the_panel():
    case = terminated()
    assert case.panel == [] and {m["to_at"] for m in case.mediators} == {ACCEPTED + 3 * DAY}
    assert {m["ended_by"] for m in case.mediators} == {"TERMINATED"}


@pytest.mark.parametrize("reason", ["PARTY_REFUSED", "PARTY_ABSENT", "LITIGATION_OR_ARBITRATION", "SELF_SETTLED"])
def test_each_ground_for_termination(reason):
    case = scheduled()
    case.terminate(reason, ACCEPTED + 6 * DAY)
    assert case.status == "TERMINATED" and case.termination["reason"] == reason


def test_other_grounds_need_a_text():
    with pytest.raises(ValueError):
        scheduled().terminate("OTHER", ACCEPTED + 6 * DAY)
    case = scheduled()
    case.terminate("OTHER", ACCEPTED + 6 * DAY, "被投诉人已注销")
    assert case.termination == {"reason": "OTHER", "at": ACCEPTED + 6 * DAY, "text": "被投诉人已注销",
                                "notice_due": None}


@pytest.mark.parametrize("reason, at", [("PENALTY", ACCEPTED + DAY), ("WITHDRAWN", ACCEPTED - SECOND),
                                        ("WITHDRAWN", datetime(2024, 6, 4))])
def test_termination_refuses_bad_input(reason, at):
    with pytest.raises(ValueError):
        opened().terminate(reason, at)


AFTER_THE_END = [
    lambda c: c.record_consent("CONSUMER", True, ACCEPTED + 7 * DAY),
    lambda c: c.record_consent("CONSUMER", False, ACCEPTED + 7 * DAY),
    lambda c: c.schedule(ACCEPTED + 9 * DAY, "调解室", ["赵强"], ACCEPTED + 7 * DAY),
    lambda c: c.recuse("李明", "利害关系", ACCEPTED + 7 * DAY),
    lambda c: c.start_appraisal("检测机构", "CLAIMANT", ACCEPTED + 7 * DAY),
    lambda c: c.complete_appraisal(ACCEPTED + 7 * DAY),
    lambda c: c.agree("WRITTEN", "退款", 100, ACCEPTED + 7 * DAY),
    lambda c: c.terminate("WITHDRAWN", ACCEPTED + 7 * DAY),
    lambda c: c.terminate("TIME_LIMIT_EXCEEDED", DUE),
]


@pytest.mark.parametrize("command", AFTER_THE_END)
@pytest.mark.parametrize("final", [terminated, agreed])
def test_nothing_happens_after_a_final_state(final, command):
    case = final()
    refusal = assert_refused(case, command, case.status)
    assert "ended" in str(refusal)
    assert case.expire_if_due(DUE) is False


# -- the whole life, stored and read back -----------------------------------------------

def test_a_case_reads_back_as_it_was_stored():
    case = opened(public={"respondent": {"name": "某电器公司"}}, **BUREAU)
    case.record_consent("CONSUMER", True, ACCEPTED + DAY, **BUREAU)
    case.record_consent("RESPONDENT", True, ACCEPTED + DAY, **BUREAU)
    case.schedule(ACCEPTED + 5 * DAY, "调解室", ["李明", "王芳"], ACCEPTED + 2 * DAY, **BUREAU)
    case.recuse("李明", "利害关系", ACCEPTED + 3 * DAY, requested_by="RESPONDENT", **BUREAU)
    case.start_appraisal("检测机构", "SHARED", ACCEPTED + 4 * DAY, **BUREAU)
    case.complete_appraisal(ACCEPTED + 6 * DAY, **BUREAU)
    case.agree("WRITTEN", "商家退还货款2599元。", 259900, ACCEPTED + 7 * DAY, **BUREAU)
    app = Application()
    app.save(case)
    copy = app.repository.get(case.id)
    assert copy == case and copy.status == "AGREED" and copy.mediation_due == end(8, 5)  # 7-9 June paused
    stored = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(case.id)]
    assert [type(e).__qualname__ for e in stored] == [
        "MediationCase.Opened", "MediationCase.ConsentRecorded", "MediationCase.ConsentRecorded",
        "MediationCase.Scheduled", "MediationCase.MediatorRecused", "MediationCase.AppraisalStarted",
        "MediationCase.AppraisalCompleted", "MediationCase.Agreed"]
    assert all((e.by_agency, e.by_role) == ("AMR-310115", "CASE_WORKER") for e in stored)


# -- joint complaints (Order 20 art. 11, Order 121 art. 12) ---------------------------

REPRESENTED = ["李娜", "王芳"]


def joint() -> MediationCase:
    case = opened(represented=REPRESENTED)
    case.record_consent("CONSUMER", True, ACCEPTED + DAY)
    case.record_consent("RESPONDENT", True, ACCEPTED + DAY)
    return case


@pytest.mark.parametrize("command", [
    lambda c, consent: c.agree("WRITTEN", "商家向每位消费者退款999元。", 299700, ACCEPTED + 4 * DAY,
                               represented_consent=consent),
    lambda c, consent: c.terminate("WITHDRAWN", ACCEPTED + 4 * DAY, represented_consent=consent),
    # Settling between themselves binds the represented as an agreement does (Order 62 art. 14).
    lambda c, consent: c.terminate("SELF_SETTLED", ACCEPTED + 4 * DAY, represented_consent=consent),
])
@pytest.mark.parametrize("consent, missing", [
    ([], "李娜, 王芳"),
    (["李娜"], "王芳"),
    (["王芳", "王芳"], "李娜"),
])
def test_a_representatives_withdrawal_or_agreement_without_everyones_consent_is_refused(command, consent, missing):
    case = joint()
    with pytest.raises(ValueError, match=f"represented_consent: .* missing {missing}$"):
        command(case, consent)
    assert case.status == "OPEN" and not case.is_final


def test_a_consent_in_the_name_of_someone_not_represented_is_refused():
    with pytest.raises(ValueError, match="赵强 is not a represented consumer"):
        joint().agree("WRITTEN", "退款", 100, ACCEPTED + 4 * DAY, represented_consent=["李娜", "王芳", "赵强"])


@pytest.mark.parametrize("ending", ["agreement", "withdrawal"])
def test_with_every_represented_consumers_consent_it_binds_them_and_says_who_consented(ending):
    case = joint()
    if ending == "agreement":
        case.agree("WRITTEN", "商家向每位消费者退款999元。", 299700, ACCEPTED + 4 * DAY,
                   represented_consent=["王芳", "李娜"])
        assert case.status == "AGREED" and case.agreement["represented_consent"] == REPRESENTED
    else:
        case.terminate("WITHDRAWN", ACCEPTED + 4 * DAY, represented_consent=["王芳", "李娜"])
        assert case.status == "TERMINATED" and case.termination["represented_consent"] == REPRESENTED


def test_other_grounds_of_termination_need_no_consent_of_the_represented():
    case = joint()
    case.terminate("PARTY_ABSENT", ACCEPTED + 4 * DAY)
    assert case.termination["reason"] == "PARTY_ABSENT"


def test_a_complaint_of_one_consumer_needs_no_represented_consent():
    case = consented()
    with pytest.raises(ValueError, match="李娜 is not a represented consumer"):
        case.agree("WRITTEN", "退款", 100, ACCEPTED + 4 * DAY, represented_consent=["李娜"])
    case.agree("WRITTEN", "退款", 100, ACCEPTED + 4 * DAY)
    assert "represented_consent" not in case.agreement


def test_a_joint_case_replays_with_its_consents():
    case = joint()
    case.agree("ORAL", "退款", 100, ACCEPTED + 4 * DAY, oral_consent=BOTH, represented_consent=REPRESENTED)
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(case)
    replayed = app.repository.get(case.id)
    assert replayed.represented == REPRESENTED
    assert replayed.agreement["represented_consent"] == REPRESENTED and replayed.agreement["oral_consent"] == list(BOTH)


def test_an_agreement_before_both_parties_consent_is_refused_for_that_first():
    # Not for whose consent it would take: it cannot be recorded at all yet.
    case = opened(represented=REPRESENTED)
    with pytest.raises(IllegalTransition, match="before both parties agree to mediate"):
        case.agree("WRITTEN", "退款", 100, ACCEPTED + 4 * DAY)


def test_a_session_after_the_last_instant_there_is_is_refused_naming_it():
    from datetime import timezone as tz

    late = datetime(9999, 12, 31, 23, 59, 59, tzinfo=tz(timedelta(hours=-12)))  # past 9999 in UTC
    with pytest.raises(ValueError, match="session_at is out of range") as refused:
        consented().schedule(late, "调解室", ["赵强"], ACCEPTED + DAY)
    assert refused.value.field == "session_at"


def test_a_withdrawal_says_whether_it_came_before_the_case_opened():
    from services.mediation.application import withdrawn

    during = consented()
    during.terminate("WITHDRAWN", ACCEPTED + DAY)
    early = opened()
    withdrawn(early, {"at": ACCEPTED - DAY, "by_agency": "AMR-310115", "by_role": "CASE_WORKER"})
    [ended_during] = [e for e in during.collect_events() if type(e).__name__ == "Terminated"]
    [ended_early] = [e for e in early.collect_events() if type(e).__name__ == "Terminated"]
    assert (ended_during.before_opening, ended_early.before_opening) == (False, True)
    assert early.termination["at"] == ACCEPTED  # at the earliest when the case opened
