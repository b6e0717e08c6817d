"""A complaint's row on the desk says the status its own page says
(services/contract/status.py), whatever order its facts arrived in."""
from __future__ import annotations

from services.desk.rows import complaint_row

AT = "2026-03-02T01:30:00+00:00"


def fact(t: str, **fields) -> dict:
    return {"type": t, "occurred_at": AT, "complaint_id": "TS-1", **fields}


RECEIVED = fact("ComplaintReceived", receiving_agency_id="AMR-310115", subject_area="GOODS_QUALITY",
                respondent={"name": "某某公司", "uscc": "91310115000000007E"}, consumer={"name": "陈静"})
ACCEPTED = fact("ComplaintAccepted", agency_id="AMR-310115", decided_at=AT, decision_due=AT,
                jurisdiction_basis="FIRST_RECEIVED")
OPENED = fact("MediationOpened", agency_id="AMR-310115", mediation_due="2026-05-01T15:59:59+00:00")
MOVED = fact("ComplaintTransferred", from_agency_id="AMR-310115", to_agency_id="AMR-310104",
             reason="DESIGNATED_BY_AMR-310000")


def row(*facts: dict) -> dict:
    return complaint_row("TS-1", list(facts), lambda agency_id: agency_id or "")


def test_a_transfer_of_a_complaint_in_mediation_moves_its_bureau_not_its_status():
    moved = row(RECEIVED, ACCEPTED, OPENED, MOVED)
    assert moved["status"] == "IN_MEDIATION" and moved["agency_id"] == "AMR-310104"
    assert moved["deadline"] == "2026-05-01"  # the mediation's, still running


def test_a_transfer_before_the_decision_waits_for_the_new_bureau():
    moved = row(RECEIVED, MOVED)
    assert moved["status"] == "TRANSFERRED" and moved["reason"] == "DESIGNATED_BY_AMR-310000"


def test_a_report_whose_filing_was_declined_is_closed_even_when_the_decline_came_first():
    report = {**RECEIVED, "type": "ReportReceived"}
    declined = fact("CaseFilingDeclined", case_id="PC-1", reason="NO_VIOLATION")
    assert row(declined, report)["status"] == "CLOSED"
    assert row(report, declined)["status"] == "CLOSED"
    assert row({**RECEIVED, "type": "ReportReceived"})["status"] == "RECEIVED"


def test_a_referral_is_closed_by_routings_record_of_the_answer_never_by_a_reply_anyone_may_write():
    from services.desk.rows import referral_rows

    referred = fact("ComplaintReferred", from_agency_id="AMR-310115", to_agency_id="CA-310000",
                    subject_area="TELECOM", decided_at=AT)
    forged = fact("ReferralDeclined", agency_id="CA-310000", referral_id="TS-1/R1-forged", reason="FORGED")
    answered = fact("ReferralAnswered", agency_id="CA-310000", referral_id="TS-1/R1-real", answer="ACKNOWLEDGED",
                    answered_at=AT, reason=None)
    line = lambda agency_id: agency_id or ""  # noqa: E731
    [issued] = referral_rows("TS-1", [RECEIVED, referred, forged], line)
    assert issued["status"] == "ISSUED" and issued["referral_id"] is None
    [closed] = referral_rows("TS-1", [RECEIVED, referred, forged, answered], line)
    assert (closed["status"], closed["referral_id"]) == ("ACKNOWLEDGED", "TS-1/R1-real")
    by_page = {**forged, "via": "console", "person": "李明", "referral_id": None}  # this desk's own page's answer
    assert referral_rows("TS-1", [RECEIVED, referred, by_page], line)[0]["status"] == "DECLINED"


def test_a_pattern_cases_ending_leaves_the_report_it_counted_open():
    report = {**RECEIVED, "type": "ReportReceived"}
    pattern_declined = fact("CaseFilingDeclined", case_id="PC-P", reason="不构成违法", reports_closed=[])
    assert row(report, pattern_declined)["status"] == "RECEIVED"
    own_declined = fact("CaseFilingDeclined", case_id="PC-1", reason="违法事实不成立", reports_closed=["TS-1"])
    assert row(report, pattern_declined, own_declined)["status"] == "CLOSED"


def test_the_same_report_after_its_case_ended_leaves_the_inbox_not_handled_again():
    report = {**RECEIVED, "type": "ReportReceived"}
    again = fact("PenaltyCaseComplaintLinked", case_id="PC-1", complaint_ids=["TS-0", "TS-1"], reported_again=True,
                 not_handled_again=True)
    assert row(report, again)["status"] == "CLOSED" and row(report, again)["outcome"] == "REPEAT_REPORT"
    joined = fact("PenaltyCaseComplaintLinked", case_id="PC-1", complaint_ids=["TS-0", "TS-1"], reported_again=True)
    assert row(report, joined)["status"] == "RECEIVED"
