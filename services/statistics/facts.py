"""The facts the statistics keep: from each record on the four input topics,
the few fields a figure needs about the request it concerns, and never a
consumer's personal data.

A fact is a plain dict tagged with the record type and the `event_id` that
carried it, so the same event delivered twice is still one fact, and a
request's facts form a set: the figures derived from them do not depend on
the order in which the topics were read."""
from __future__ import annotations

INPUTS = ("complaints.received", "complaints.decisions", "mediation.events", "enforcement.cases")

RECEIVED = {"ComplaintReceived": "COMPLAINT", "ReportReceived": "REPORT",
            "ConsultationReceived": "CONSULTATION"}

# Per record type, the fields kept; record types not named here change no figure.
KEPT = {
    "ComplaintReceived": ("channel", "receiving_agency_id", "subject_area", "respondent"),
    "ReportReceived": ("channel", "receiving_agency_id", "subject_area", "respondent"),
    "ConsultationReceived": ("channel", "receiving_agency_id"),
    "ComplaintAccepted": ("agency_id", "decided_at", "decision_due", "subject_area", "respondent", "received_at",
                          "consumer_count"),
    "ComplaintRejected": ("agency_id", "reason", "decided_at", "decision_due"),
    "ComplaintReferred": ("to_agency_id", "from_agency_id", "subject_area", "decided_at"),
    "ComplaintTransferred": ("to_agency_id", "from_agency_id", "decided_at"),
    "DecisionOverdue": ("agency_id", "decision_due"),
    "MediationOpened": ("agency_id",),
    "MediationAgreed": ("amount_recovered_fen",),
    "MediationTerminated": ("reason", "before_opening"),
}

# Cases name the complaints they came from in a list, not in the message key.
CASE_LINKS = {"PenaltyCaseOpened": ("agency_id",), "PenaltyCaseComplaintLinked": ()}


def operator(respondent: dict | None) -> dict | None:
    """The respondent as an operator: name and credit code, never its address."""
    if not respondent or not (respondent.get("name") or respondent.get("uscc")):
        return None
    return {"name": respondent.get("name"), "uscc": respondent.get("uscc")}


def _fact(record_type: str, record: dict, fields: tuple[str, ...]) -> dict:
    fact = {"type": record_type, "event_id": record["event_id"], "at": record["occurred_at"]}
    for name in fields:
        value = record.get(name)
        fact[name] = operator(value) if name == "respondent" else value
    if record_type in RECEIVED:
        fact["kind"] = RECEIVED[record_type]
    if record_type == "ComplaintReceived":
        # A joint complaint is one complaint of several consumers (Order 121
        # art. 12): counted once, its consumers counted apart; never their names.
        fact["consumers"] = 1 + len(record.get("co_consumers") or ())
    return fact


def facts_of(record_type: str, record: dict) -> list[tuple[str, dict]]:
    """(complaint id, fact) pairs that one record adds; empty for records that
    change no figure."""
    if record_type in KEPT:
        return [(record["complaint_id"], _fact(record_type, record, KEPT[record_type]))]
    if record_type in CASE_LINKS:
        fact = {**_fact(record_type, record, CASE_LINKS[record_type]), "case_id": record["case_id"]}
        return [(complaint_id, fact) for complaint_id in dict.fromkeys(record["complaint_ids"])]
    return []
