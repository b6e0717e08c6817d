"""What one request's facts add up to. Pure, and independent of the order the
facts arrived in: where facts of one type disagree (a referral declined and
the complaint decided again) the one that occurred last decides, ties broken by
event id, never by arrival."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from services.contract.status import STATUS_RANK, ended

from .facts import RECEIVED

DECISIONS = {"ComplaintAccepted": "ACCEPTED", "ComplaintRejected": "REJECTED", "ComplaintReferred": "REFERRED"}

@dataclass(frozen=True, slots=True)
class RequestSummary:
    complaint_id: str
    kind: str
    received_at: datetime
    channel: str | None
    receiving_agency_id: str | None
    subject_area: str | None
    respondent_name: str | None
    respondent_uscc: str | None
    status: str
    decision: str | None          # the decision that stands: ACCEPTED, REJECTED or REFERRED
    reason: str | None            # the rejection reason, when the decision is REJECTED
    referral_target: str | None   # the agency referred to, when the decision is REFERRED
    handling_agency_id: str | None
    decided_late: bool            # the first decision came after decision_due
    mediated: bool
    agreed: bool
    terminated: bool
    time_limit_exceeded: bool
    amount_recovered_fen: int
    penalty_case_ids: tuple[str, ...]
    consumers: int = 1            # more than one for a joint complaint


def _order(fact: dict):
    return fact["at"], fact["event_id"]


def summarise(complaint_id: str, facts: Iterable[dict]) -> RequestSummary | None:
    """None while the request's receipt is unknown: it is counted once it is."""
    by_type: dict[str, list[dict]] = defaultdict(list)
    for fact in sorted(facts, key=_order):
        by_type[fact["type"]].append(fact)
    receipt = min((f for t in RECEIVED for f in by_type[t]), key=_order, default=None)
    accepted = by_type["ComplaintAccepted"]
    received_at = receipt["at"] if receipt else next((f["received_at"] for f in accepted if f.get("received_at")), None)
    if received_at is None:
        return None
    # Only complaints are accepted: a request known from its acceptance alone is one.
    kind = receipt["kind"] if receipt else "COMPLAINT"
    decisions = sorted((f for t in DECISIONS for f in by_type[t]), key=_order)
    final = decisions[-1] if decisions else None
    receipt = receipt or {}
    later = accepted + by_type["ComplaintReferred"]
    respondent = (receipt.get("respondent")
                  or next((f["respondent"] for f in accepted if f.get("respondent")), None) or {})
    subject_area = (receipt.get("subject_area")
                    or next((f["subject_area"] for f in later if f.get("subject_area")), None))
    terminations = by_type["MediationTerminated"]
    return RequestSummary(
        complaint_id=complaint_id, kind=kind, received_at=received_at,
        channel=receipt.get("channel"), receiving_agency_id=receipt.get("receiving_agency_id"),
        subject_area=subject_area, respondent_name=respondent.get("name"), respondent_uscc=respondent.get("uscc"),
        status=_status(kind, by_type, final),
        decision=DECISIONS[final["type"]] if final else None,
        reason=final.get("reason") if final and final["type"] == "ComplaintRejected" else None,
        referral_target=final.get("to_agency_id") if final and final["type"] == "ComplaintReferred" else None,
        handling_agency_id=_handling_agency(receipt, by_type, final),
        decided_late=_late(decisions, by_type["DecisionOverdue"]),
        mediated=bool(by_type["MediationOpened"]), agreed=bool(by_type["MediationAgreed"]),
        terminated=bool(terminations),
        time_limit_exceeded=any(f["reason"] == "TIME_LIMIT_EXCEEDED" for f in terminations),
        amount_recovered_fen=sum(f["amount_recovered_fen"] or 0 for f in by_type["MediationAgreed"]),
        penalty_case_ids=tuple(sorted({f["case_id"] for t in ("PenaltyCaseOpened", "PenaltyCaseComplaintLinked")
                                       for f in by_type[t]})),
        consumers=(receipt.get("consumers")
                   or next((f["consumer_count"] for f in accepted if f.get("consumer_count")), None) or 1),
    )


def _status(kind: str, by_type: dict[str, list[dict]], final: dict | None) -> str:
    if kind == "CONSULTATION":
        return "CLOSED"  # answered, counted and closed at intake
    reached = ["RECEIVED"]
    if by_type["ComplaintTransferred"]:
        reached.append("TRANSFERRED")
    if final:
        reached.append(DECISIONS[final["type"]])
    if by_type["MediationOpened"]:
        reached.append("IN_MEDIATION")
    for end in sorted(by_type["MediationAgreed"] + by_type["MediationTerminated"], key=_order):
        reached.append("AGREED" if end["type"] == "MediationAgreed"
                       else ended(end["reason"], end.get("before_opening")))
    # Of two ends of equal rank (agreed, terminated) the one that occurred last:
    # max() keeps the first of equals, so it looks from the latest backwards.
    return max(reversed(reached), key=STATUS_RANK.__getitem__)


def _handling_agency(receipt: dict, by_type: dict[str, list[dict]], final: dict | None) -> str | None:
    """The bureau that holds the request now: the mediating one, else the one
    whose decision stands, else (for a report) the one that opened its penalty
    case, else where it was transferred to or first received."""
    transfers = by_type["ComplaintTransferred"]
    where = transfers[-1]["to_agency_id"] if transfers else receipt.get("receiving_agency_id")
    if by_type["MediationOpened"]:
        return by_type["MediationOpened"][-1]["agency_id"]
    if final:
        return final.get("agency_id") or final.get("from_agency_id") or where
    cases = [f for f in by_type["PenaltyCaseOpened"] if f.get("agency_id")]
    return cases[0]["agency_id"] if cases else where


def _late(decisions: list[dict], overdue: list[dict]) -> bool:
    """Whether the complainant was told late: the first decision (a referral
    carries no due date of its own; a DecisionOverdue gives it) after the due date."""
    if not decisions:
        return False
    first = min(decisions, key=lambda f: (f["decided_at"], f["event_id"]))
    due = first.get("decision_due") or next((f["decision_due"] for f in overdue if f.get("decision_due")), None)
    return due is not None and first["decided_at"] > due
