"""Routing's stored events as the integration events subscribers see."""
from __future__ import annotations

from services.agencies.divisions import city_of
from services.agencies.ids import adcode_of
from services.contract import status as public_status
from services.bus.messages import Outgoing
from services.bus.topics import referral_inbox

from .calendar import china_date
from . import joint
from .domainmodel import Complaint
from .rulebook import DEFAULT
from .rules import other_routes


def public_update(complaint: Complaint, status: str, at, outcome: str | None = None) -> Outgoing:
    record = complaint.record
    agency = complaint.agency_id or record.get("receiving_agency_id")
    # Dates a person reads are China dates: a receipt at 07:00 CST is that day's.
    return public_status.public_update(
        complaint.complaint_id, record.get("respondent"), record.get("subject_area"), city_of(adcode_of(agency)),
        status, outcome, china_date(complaint.received_at), china_date(at) if status != "RECEIVED" else None)


_BASIS = {"OPERATOR_LOCATION": "被投诉人所在地", "ACTIVITY_LOCATION": "经营行为发生地",
          "PLATFORM_LOCATION": "第三方交易平台所在地", "CONSUMER_CHOICE": "您选择的", "FIRST_RECEIVED": "首先收到投诉的"}
_AREA = {"ENVIRONMENT": "环境污染", "MEDICAL": "医疗服务", "EDUCATION": "教育", "TRANSPORT": "交通运输",
         "HOUSING": "房屋", "TOURISM": "旅游", "TELECOM": "电信服务", "FINANCE": "金融服务", "POSTAL": "邮政快递"}


def _name(agency_id: str | None, directory) -> str:
    if directory is not None and directory.exists(agency_id):
        return f"{directory.agency(agency_id).name}（{agency_id}）"
    return agency_id or ""


def referred_explanation(complaint: Complaint, to_agency_id: str, subject_area: str, directory=None) -> str:
    """What the complainant reads: where it went and on which ground (the
    rulebook's out-of-remit ground, with its article)."""
    from .rulebook import named
    book = named(complaint.rulebook)
    ground = book.grounds["OUT_OF_REMIT"]
    # Not accepted here (Order 121 art. 16(1)): under Order 121 art. 15 that says the other routes too.
    return (f"您反映的是{_AREA.get(subject_area, subject_area)}方面的问题，不属于市场监督管理部门职责范围"
            f"（{book.title}{ground.article}：{ground.rule}），已移送{_name(to_agency_id, directory)}处理，"
            f"请等待该机关联系。{other_routes(book)}")


def transferred_explanation(reason: str, to_agency_id: str, directory=None) -> str:
    to = _name(to_agency_id, directory)
    if reason == "TAKEN_OVER":
        return f"上级机关{to}决定自行处理您的投诉。"
    if reason == "ESCALATED":
        return f"您的投诉已报请上级机关{to}处理。"
    if reason.startswith("DESIGNATED_BY_"):
        return f"上级机关{_name(reason[len('DESIGNATED_BY_'):], directory)}指定{to}处理您的投诉。"
    return f"您的投诉已移送有处理权限的{_BASIS.get(reason, '')}市场监督管理部门{to}处理。"


def integration_events(event, complaint: Complaint, directory=None) -> list[Outgoing]:
    if not isinstance(complaint, Complaint):
        return []  # routing's own index of disputes: nothing for the bus
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
            "city_adcode": city_of(adcode_of(event.agency_id)), "received_at": complaint.received_at,
            "rulebook": rulebook, "decision_due_provisional": bool(complaint.provisional_due),
            "needs_placement": bool(getattr(event, "needs_placement", False)),
            "consumer_count": max(len(joint.consumers(complaint.record)), 1),
            "represented": joint.represented(complaint.record),
        }), public_update(complaint, "ACCEPTED", event.at, event.basis)]
    if isinstance(event, Complaint.Rejected):
        return [Outgoing("complaints.decisions", cid, "ComplaintRejected", {
            "complaint_id": cid, "agency_id": event.agency_id, "reason": event.reason,
            "explanation": event.explanation, "decided_at": event.at, "decision_due": complaint.decision_due,
            "rulebook": rulebook, "decision_due_provisional": bool(complaint.provisional_due),
            "grounds": list(getattr(event, "grounds", None)
                                                  or [{"reason": event.reason, "explanation": event.explanation}]),
        }), public_update(complaint, "REJECTED", event.at, event.reason)]
    if isinstance(event, Complaint.Referred):
        record = complaint.record
        return [
            Outgoing("complaints.decisions", cid, "ComplaintReferred", {
                "complaint_id": cid, "to_agency_id": event.to_agency_id, "subject_area": event.subject_area,
                "decided_at": event.at, "from_agency_id": event.from_agency_id, "rulebook": rulebook,
                "explanation": referred_explanation(complaint, event.to_agency_id, event.subject_area, directory)}),
            Outgoing(referral_inbox(event.to_agency_id), cid, "ReferralIssued", {
                "complaint_id": cid, "referral_id": event.referral_id, "from_agency_id": event.from_agency_id,
                "to_agency_id": event.to_agency_id, "subject_area": event.subject_area,
                "consumer": record["consumer"],
                "respondent": {k: (record.get("respondent") or {}).get(k) for k in ("name", "uscc", "address", "adcode")},
                "facts": record.get("facts"), "reply_due": event.reply_due}),
            public_update(complaint, "REFERRED", event.at, "OUT_OF_REMIT"),
        ]
    if isinstance(event, Complaint.Transferred):
        return [Outgoing("complaints.decisions", cid, "ComplaintTransferred", {
            "complaint_id": cid, "from_agency_id": event.from_agency_id, "to_agency_id": event.to_agency_id,
            "reason": event.reason, "decided_at": event.at, "rulebook": rulebook,
            "explanation": transferred_explanation(event.reason, event.to_agency_id, directory),
        }), public_update(complaint, "TRANSFERRED", event.at, event.reason)]
    if isinstance(event, (Complaint.ReferralAcknowledged, Complaint.ReferralDeclined)):
        acknowledged = isinstance(event, Complaint.ReferralAcknowledged)
        return [Outgoing("complaints.decisions", cid, "ReferralAnswered", {
            "complaint_id": cid, "referral_id": event.referral_id, "agency_id": event.agency_id,
            "answer": "ACKNOWLEDGED" if acknowledged else "DECLINED", "answered_at": event.at,
            "reason": None if acknowledged else event.reason})]
    if isinstance(event, Complaint.ViolationFlagged):
        respondent = complaint.record.get("respondent") or {}
        agency = event.by_agency or complaint.agency_id or complaint.record.get("receiving_agency_id") or ""
        handler = complaint.agency_id or agency
        return [Outgoing("violations.found", cid, "ViolationFound", {
            "complaint_id": cid, "respondent": {"name": respondent.get("name") or "", "uscc": respondent.get("uscc")},
            "violation_type": event.violation_type, "evidence": event.evidence,
            # An accepted complaint is in mediation's hands: the lead was found there
            # (and under Orders 20/121 has the check period of one, `check_due`).
            "found_by": "mediation" if complaint.state == "ACCEPTED" else "routing",
            "agency_id": handler, "place_adcode": adcode_of(handler), "check_due": event.check_due})]
    if isinstance(event, Complaint.DecisionOverdue):
        return [Outgoing("complaints.decisions", cid, "DecisionOverdue", {
            "complaint_id": cid, "agency_id": complaint.agency_id or complaint.record.get("receiving_agency_id") or "",
            "decision_due": complaint.decision_due, "rulebook": rulebook})]
    return []
