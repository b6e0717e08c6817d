"""Routing's stored events as the integration events subscribers see."""
from __future__ import annotations

from services.bus.messages import Outgoing
from services.bus.topics import referral_inbox

from .calendar import china_date
from .domainmodel import Complaint
from .rulebook import DEFAULT


def city_adcode(adcode: str | None) -> str | None:
    """City level, never finer: the public stream must not locate a consumer."""
    if not adcode or len(adcode) != 6 or not adcode.isdigit():
        return None
    return adcode[:4] + "00"


def public_update(complaint: Complaint, status: str, at, outcome: str | None = None) -> Outgoing:
    record = complaint.record
    respondent = record.get("respondent") or {}
    agency = complaint.agency_id or record.get("receiving_agency_id") or ""
    return Outgoing("public.complaints", complaint.complaint_id, "PublicComplaintUpdate", {
        "complaint_id": complaint.complaint_id,
        "respondent_name": respondent.get("name"), "respondent_uscc": respondent.get("uscc"),
        "subject_area": record.get("subject_area"),
        "city_adcode": city_adcode(agency.split("-", 1)[1] if "-" in agency else None),
        "status": status, "outcome": outcome,
        # Dates a person reads are China dates: a receipt at 07:00 CST is that day's.
        "received_on": china_date(complaint.received_at),
        "decided_on": china_date(at) if status != "RECEIVED" else None,
    })


def integration_events(event, complaint: Complaint) -> list[Outgoing]:
    cid = complaint.complaint_id
    rulebook = complaint.rulebook or DEFAULT
    if isinstance(event, Complaint.Received):
        return [public_update(complaint, "RECEIVED", event.received_at)]
    if isinstance(event, Complaint.Accepted):
        respondent = complaint.record.get("respondent") or {}
        operator = {"name": respondent["name"], "uscc": respondent.get("uscc")} if respondent.get("name") else None
        return [Outgoing("complaints.decisions", cid, "ComplaintAccepted", {
            "complaint_id": cid, "agency_id": event.agency_id, "jurisdiction_basis": event.basis,
            "decided_at": event.at, "decision_due": complaint.decision_due, "respondent": operator,
            "subject_area": complaint.record.get("subject_area"),
            "city_adcode": city_adcode(event.agency_id.split("-", 1)[-1]), "received_at": complaint.received_at,
            "rulebook": rulebook,
        }), public_update(complaint, "ACCEPTED", event.at, event.basis)]
    if isinstance(event, Complaint.Rejected):
        return [Outgoing("complaints.decisions", cid, "ComplaintRejected", {
            "complaint_id": cid, "agency_id": event.agency_id, "reason": event.reason,
            "explanation": event.explanation, "decided_at": event.at, "decision_due": complaint.decision_due,
            "rulebook": rulebook, "grounds": list(getattr(event, "grounds", None)
                                                  or [{"reason": event.reason, "explanation": event.explanation}]),
        }), public_update(complaint, "REJECTED", event.at, event.reason)]
    if isinstance(event, Complaint.Referred):
        record = complaint.record
        return [
            Outgoing("complaints.decisions", cid, "ComplaintReferred", {
                "complaint_id": cid, "to_agency_id": event.to_agency_id, "subject_area": event.subject_area,
                "decided_at": event.at, "from_agency_id": event.from_agency_id, "rulebook": rulebook}),
            Outgoing(referral_inbox(event.to_agency_id), cid, "ReferralIssued", {
                "complaint_id": cid, "referral_id": event.referral_id, "from_agency_id": event.from_agency_id,
                "to_agency_id": event.to_agency_id, "subject_area": event.subject_area,
                "consumer": record["consumer"],
                "respondent": {k: (record.get("respondent") or {}).get(k) for k in ("name", "uscc", "address", "adcode")},
                "facts": record.get("facts"), "reply_due": event.reply_due}),
            public_update(complaint, "REFERRED", event.at, event.subject_area),
        ]
    if isinstance(event, Complaint.Transferred):
        return [Outgoing("complaints.decisions", cid, "ComplaintTransferred", {
            "complaint_id": cid, "from_agency_id": event.from_agency_id, "to_agency_id": event.to_agency_id,
            "reason": event.reason, "decided_at": event.at, "rulebook": rulebook,
        }), public_update(complaint, "TRANSFERRED", event.at, event.reason)]
    if isinstance(event, Complaint.DecisionOverdue):
        return [Outgoing("complaints.decisions", cid, "DecisionOverdue", {
            "complaint_id": cid, "agency_id": complaint.agency_id or complaint.record.get("receiving_agency_id") or "",
            "decision_due": complaint.decision_due, "rulebook": rulebook})]
    return []
