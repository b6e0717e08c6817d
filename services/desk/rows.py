"""A file's facts, in the order they were stored, as the rows the desk lists.
Pure functions: the same facts always make the same rows."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from services.agencies.divisions import city_of
from services.agencies.ids import adcode_of
from services.contract.status import STATUS_RANK, ended

CST = ZoneInfo("Asia/Shanghai")

KINDS = {"ComplaintReceived": "COMPLAINT", "ReportReceived": "REPORT", "ConsultationReceived": "CONSULTATION"}
OPEN = ("RECEIVED", "ACCEPTED", "TRANSFERRED", "IN_MEDIATION")
CASE_OPEN = ("LEAD", "INVESTIGATING", "DECIDED")

COMPLAINT_COLUMNS = (
    "complaint_id", "kind", "status", "channel", "receiving_agency_id", "agency_id", "agency_line",
    "subject_area", "respondent_name", "respondent_uscc", "city_adcode", "received_at", "decided_at",
    "decision_due", "decision_overdue", "mediation_due", "mediation_paused", "deadline", "deadline_key",
    "outcome", "reason", "amount_recovered_fen", "workers", "case_ids", "consumer_name", "consumer_phone",
    "updated_at")
CASE_COLUMNS = (
    "case_id", "origin", "status", "agency_id", "agency_line", "violation_type", "respondent_name",
    "respondent_uscc", "complaint_ids", "opened_at", "filing_due", "deadline", "deadline_key", "fine_fen",
    "outcome", "updated_at")
REFERRAL_COLUMNS = (
    "id", "complaint_id", "to_agency_id", "from_agency_id", "referral_id", "subject_area", "status", "referred_at",
    "reply_due", "answered_at", "answer_reason", "respondent_name", "respondent_uscc", "consumer_name", "consumer_phone", "facts", "from_line")

NO_DEADLINE = "9999-12-31"


def complaint_row(complaint_id: str, facts: list[dict], line) -> dict | None:
    """None until the request's receipt is known: a decision that overtook its
    receipt waits for it."""
    row = dict.fromkeys(COMPLAINT_COLUMNS)
    row.update(complaint_id=complaint_id, decision_overdue=0, mediation_paused=0)
    cases, mediators, report_ended = [], [], None
    for f in facts:
        t, at = f["type"], f.get("occurred_at")
        row["updated_at"] = max(row["updated_at"] or "", at or "")
        if t in KINDS:
            respondent = f.get("respondent") or {}
            consumer = f.get("consumer") or {}
            row.update(kind=KINDS[t], channel=f.get("channel"), receiving_agency_id=f.get("receiving_agency_id"),
                       subject_area=f.get("subject_area"), respondent_name=respondent.get("name"),
                       respondent_uscc=respondent.get("uscc"), received_at=at,
                       consumer_name=consumer.get("name"), consumer_phone=consumer.get("phone"))
            row["agency_id"] = row["agency_id"] or f.get("receiving_agency_id")
            row["status"] = _later(row["status"], "CLOSED" if t == "ConsultationReceived" else "RECEIVED")
        elif t == "ComplaintAccepted":
            row.update(status=_later(row["status"], "ACCEPTED"), agency_id=f["agency_id"],
                       decided_at=f.get("decided_at"), decision_due=f.get("decision_due"),
                       reason=f.get("jurisdiction_basis"))
            row["received_at"] = row["received_at"] or f.get("received_at")
        elif t == "ComplaintRejected":
            row.update(status=_later(row["status"], "REJECTED"), agency_id=f["agency_id"], decided_at=f.get("decided_at"),
                       decision_due=f.get("decision_due"), reason=f.get("reason"))
        elif t == "ComplaintReferred":
            row.update(status=_later(row["status"], "REFERRED"), agency_id=f.get("from_agency_id") or row["agency_id"],
                       decided_at=f.get("decided_at"), reason="OUT_OF_REMIT")
        elif t == "ComplaintTransferred":
            row.update(status=_later(row["status"], "TRANSFERRED"), agency_id=f["to_agency_id"])
            if row["status"] == "TRANSFERRED":
                row["reason"] = f.get("reason")
        elif t == "DecisionOverdue":
            row.update(decision_overdue=1, decision_due=f.get("decision_due"))
        elif t == "MediationOpened":
            row.update(status=_later(row["status"], "IN_MEDIATION"), agency_id=f["agency_id"],
                       mediation_due=f.get("mediation_due"))
        elif t == "AppraisalStarted":
            row["mediation_paused"] = 1
        elif t in ("AppraisalCompleted", "MediationDueRecomputed"):
            row.update(mediation_paused=0, mediation_due=f.get("mediation_due"))
        elif t == "MediationScheduled":
            mediators = list(f.get("mediators") or [])
        elif t == "MediatorRecused":
            mediators = [m for m in mediators if m != f.get("mediator")]
        elif t == "MediationAgreed":
            row.update(status=_later(row["status"], "AGREED"), outcome=f.get("form"), amount_recovered_fen=f.get("amount_recovered_fen"))
        elif t == "MediationTerminated":
            row.update(status=_later(row["status"], ended(f.get("reason"), f.get("before_opening"))),
                       outcome=f.get("reason"))
        elif t in ("PenaltyCaseOpened", "PenaltyCaseComplaintLinked"):
            cases.append(f["case_id"])
            if f.get("not_handled_again") and f.get("complaint_id") == complaint_id:
                report_ended = "REPEAT_REPORT"  # its case had ended (Order 121 art. 35)
        elif t in ("CaseFilingDeclined", "PenaltyCaseClosed"):
            # Only the case handling the report ends it (a pattern's counts it, and ends apart);
            # a record from before the ending named its reports names its case's first complaint.
            closed = f.get("reports_closed")
            if complaint_id in (closed if closed is not None else [f.get("complaint_id")]):
                report_ended = f.get("outcome") or f.get("reason")
    if row["kind"] is None:
        return None
    if row["kind"] == "REPORT" and report_ended is not None:
        row.update(status="CLOSED", outcome=report_ended)
    # JSON arrays, so a listing can hand them out as they are stored.
    row["workers"] = json.dumps(mediators, ensure_ascii=False)
    row["case_ids"] = json.dumps(list(dict.fromkeys(cases)))
    row["city_adcode"] = city_of(adcode_of(row["agency_id"]))
    row["agency_line"] = line(row["agency_id"])
    row["deadline"] = _deadline(row)
    row["deadline_key"] = row["deadline"] or NO_DEADLINE
    return row


def _later(current: str | None, new: str) -> str:
    """Records from different topics may arrive in any order: a decision that
    comes after the mediation opened does not move the complaint back, and a
    transfer of a complaint in mediation leaves it there (the status view's
    rule: services/contract/status.py)."""
    if current is None or STATUS_RANK[new] >= STATUS_RANK[current]:
        return new
    return current


def china_date(instant: str | None) -> str | None:
    """The day in China an instant falls on: a limit ending at 23:59:59 China
    time is stored as 15:59:59 UTC, and its day is the Chinese one."""
    if not instant:
        return None
    if len(instant) == 10:
        return instant
    return datetime.fromisoformat(instant).astimezone(CST).date().isoformat()


def _deadline(row: dict) -> str | None:
    """The date by which the handling bureau must act next, while it must."""
    if row["status"] in ("RECEIVED", "TRANSFERRED"):
        return china_date(row["decision_due"])
    if row["status"] == "IN_MEDIATION" and not row["mediation_paused"]:
        return china_date(row["mediation_due"])
    return None


def case_row(case_id: str, facts: list[dict], line) -> dict | None:
    row = dict.fromkeys(CASE_COLUMNS)
    row["case_id"] = case_id
    complaints, extended_to, conclusion_due = [], None, None
    for f in facts:
        t, at = f["type"], f.get("occurred_at")
        row["updated_at"] = max(row["updated_at"] or "", at or "")
        complaints.extend(f.get("complaint_ids") or [])
        if t == "PenaltyCaseOpened":
            respondent = f.get("respondent") or {}
            row.update(origin=f.get("origin"), agency_id=f.get("agency_id"), violation_type=f.get("violation_type"),
                       respondent_name=respondent.get("name"), respondent_uscc=respondent.get("uscc"),
                       opened_at=at, filing_due=f.get("filing_due"))
            row["status"] = row["status"] or "LEAD"
        elif t == "PenaltyCaseComplaintLinked":
            complaints.append(f["complaint_id"])
            if f.get("filing_due"):  # a repeated report with new facts restarted it
                row["filing_due"] = f["filing_due"]
        elif t == "CaseFilingDeclined":
            row.update(status="DECLINED", outcome=f.get("reason"))
        elif t == "InvestigationStarted":
            row["status"] = row["status"] if row["status"] in ("DECIDED", "CLOSED", "DECLINED") else "INVESTIGATING"
            conclusion_due = f.get("conclusion_due")
        elif t == "PenaltyDecided":
            row.update(status="DECIDED" if row["status"] != "CLOSED" else "CLOSED", fine_fen=f.get("fine_fen"))
        elif t == "PenaltyCaseClosed":
            row.update(status="CLOSED", outcome=f.get("outcome"))
        elif t == "PenaltyCaseCheckExtended":
            extended_to = f.get("check_due")
    if extended_to:  # whichever came first, the opening or the extension
        row["filing_due"] = extended_to
    if row["origin"] is None:
        return None
    row["complaint_ids"] = ",".join(dict.fromkeys(complaints)) or None
    row["agency_line"] = line(row["agency_id"])
    # The bureau's next limit: filing while a lead, the decision while investigated.
    row["deadline"] = (china_date(row["filing_due"]) if row["status"] == "LEAD"
                       else china_date(conclusion_due) if row["status"] == "INVESTIGATING" else None)
    row["deadline_key"] = row["deadline"] or NO_DEADLINE
    return row


def referral_rows(complaint_id: str, facts: list[dict], line) -> list[dict]:
    """One row per referral of the complaint, with the answer once it came."""
    rows: list[dict] = []
    received = next((f for f in facts if f["type"] in KINDS), {})
    respondent, consumer = received.get("respondent") or {}, received.get("consumer") or {}
    for f in facts:
        if f["type"] == "ComplaintReferred":
            row = dict.fromkeys(REFERRAL_COLUMNS)
            row.update(id=f"{complaint_id}/{len(rows)}", complaint_id=complaint_id, to_agency_id=f["to_agency_id"],
                       from_line=line(f.get("from_agency_id")),
                       from_agency_id=f.get("from_agency_id"), subject_area=f.get("subject_area"), status="ISSUED",
                       referred_at=f.get("decided_at") or f.get("occurred_at"),
                       respondent_name=respondent.get("name"), respondent_uscc=respondent.get("uscc"),
                       # What the addressed agency needs to handle it, as its Kafka inbox carries it.
                       consumer_name=consumer.get("name"), consumer_phone=consumer.get("phone"),
                       facts=received.get("facts"))
            rows.append(row)
        elif f["type"] == "ReferralAnswered" or (f["type"] in ("ReferralAcknowledged", "ReferralDeclined")
                                                  and f.get("via") == "console"):
            # Routing's record of an answer it took (it checked the referral id,
            # which only the addressee holds), or the answer this desk's own page
            # gave through routing: never a reply as anyone may write it to
            # referrals.replies. The first one closes the referral.
            waiting = [r for r in rows if r["to_agency_id"] == f.get("agency_id") and r["status"] == "ISSUED"]
            if waiting:
                answer = f.get("answer") or ("ACKNOWLEDGED" if f["type"] == "ReferralAcknowledged" else "DECLINED")
                waiting[-1].update(status=answer, referral_id=f.get("referral_id"),
                                   answered_at=f.get("answered_at") or f.get("occurred_at"),
                                   answer_reason=f.get("reason") or f.get("note"))
    return rows
