"""Routing's record of a complaint: what it received and every decision on it."""
from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.contract.errors import InvalidField
from services.ids import derive_id

# The longest reason an agency may give for declining a referral.
MAX_REASON = 2000

DECIDED = ("ACCEPTED", "REJECTED", "REFERRED")
# A referral its addressee may still answer: a late answer (after ReferralOverdue) still counts.
ANSWERABLE = ("ISSUED", "OVERDUE")


class AlreadyDecided(Exception):
    def __init__(self, complaint_id: str, state: str):
        super().__init__(f"complaint {complaint_id} is already {state}")
        self.state = state


class Complaint(Aggregate):
    @staticmethod
    def create_id(complaint_id: str):
        return derive_id("routing", "complaint", complaint_id)

    @event("Received")
    def __init__(self, complaint_id: str, record: dict, received_at: datetime, decision_due: datetime,
                 provisional_due: bool = False, rulebook: str | None = None):
        self.complaint_id = complaint_id
        # Chosen once, at receipt, and kept: a complaint received before
        # rulebooks were recorded was decided under the default (None).
        self.rulebook = rulebook
        self.record = record
        self.received_at = received_at
        self.decision_due = decision_due
        # True when the official holiday calendar did not reach the due date yet.
        self.provisional_due = provisional_due
        self.state = "RECEIVED"
        self.agency_id: str | None = record.get("receiving_agency_id")
        self.decided_at: datetime | None = None
        self.overdue_flagged = False
        self.referrals: dict[str, dict] = {}
        self.declined_by: list[str] = []
        self.dispute: dict | None = None
        self.escalation: dict | None = None

    @property
    def is_decided(self) -> bool:
        return self.state in DECIDED

    @property
    def next_limit(self) -> datetime | None:
        """When the timer next has something to flag, as things stand: the
        decision's due time while undecided and not flagged, and each issued
        referral's reply time; None when nothing is left to pass."""
        limits = [r["reply_due"] for r in self.referrals.values() if r["status"] == "ISSUED"]
        if not self.is_decided and not self.overdue_flagged:
            limits.append(self.decision_due)
        return min(limits, default=None)

    def _require_undecided(self) -> None:
        if self.is_decided:
            raise AlreadyDecided(self.complaint_id, self.state)

    def accept(self, agency_id: str, basis: str, at: datetime, needs_placement: bool = False) -> None:
        self._require_undecided()
        self._accepted(agency_id, basis, at, needs_placement=needs_placement)

    @event("Accepted")
    def _accepted(self, agency_id: str, basis: str, at: datetime, needs_placement: bool = False) -> None:
        """`needs_placement`: no division code showed which bureau is competent;
        the receiving bureau holds the complaint until a person places it."""
        self.state, self.agency_id, self.basis, self.decided_at = "ACCEPTED", agency_id, basis, at
        self.needs_placement = needs_placement

    def reject(self, agency_id: str, reason: str, explanation: str, at: datetime,
               grounds: list[dict] | None = None) -> None:
        self._require_undecided()
        self._rejected(agency_id, reason, explanation, at, grounds=grounds)

    @event("Rejected")
    def _rejected(self, agency_id: str, reason: str, explanation: str, at: datetime,
                  grounds: list[dict] | None = None) -> None:
        """`grounds`: every ground that applies ({reason, explanation}), the first
        being `reason`; None on rejections recorded before they were listed."""
        self.state, self.agency_id, self.decided_at = "REJECTED", agency_id, at
        self.reason, self.explanation = reason, explanation
        self.grounds = grounds or [{"reason": reason, "explanation": explanation}]

    def refer(self, referral_id: str, from_agency_id: str, to_agency_id: str, subject_area: str,
              reply_due: datetime, at: datetime) -> None:
        self._require_undecided()
        self._referred(referral_id, from_agency_id, to_agency_id, subject_area, reply_due, at)

    @event("Referred")
    def _referred(self, referral_id: str, from_agency_id: str, to_agency_id: str, subject_area: str,
                  reply_due: datetime, at: datetime) -> None:
        self.state, self.decided_at = "REFERRED", at
        self.referrals[referral_id] = {"to_agency_id": to_agency_id, "from_agency_id": from_agency_id,
                                       "reply_due": reply_due, "status": "ISSUED"}

    @event("Transferred")
    def transfer(self, from_agency_id: str, to_agency_id: str, reason: str, at: datetime,
                 by_agency: str | None = None, by_role: str | None = None) -> None:
        self.agency_id = to_agency_id
        self.needs_placement = False
        # A superior's decision, whichever way it came, settles any dispute too.
        if reason == "ESCALATED" or reason.startswith("DESIGNATED") or reason == "TAKEN_OVER":
            self.dispute = None
            self.escalation = None

    @event("EscalationRequested")
    def request_escalation(self, by_agency: str, superior_id: str, at: datetime, by_role: str | None = None) -> None:
        """The handling bureau asks its superior to decide (Order 62 art. 8; Order 20
        art. 12; Order 121 art. 13): the complaint stays until the superior decides."""
        self.escalation = {"superior_id": superior_id, "requested_by": by_agency, "at": at}

    @event("EscalationRefused")
    def refuse_escalation(self, by_agency: str, at: datetime, by_role: str | None = None) -> None:
        self.escalation = None

    @event("DisputeRaised")
    def raise_dispute(self, by_agency: str, with_agency_id: str, superior_id: str, at: datetime,
                      by_role: str | None = None, settle_by: datetime | None = None) -> None:
        """Two bureaus disagree who is competent; their common superior decides.
        `settle_by`: under Orders 20 and 121 the bureaus have 7 working days to
        agree before it goes to the superior (which may also decide at once)."""
        self.dispute = {"between": [self.agency_id, with_agency_id], "superior_id": superior_id,
                        "raised_by": by_agency, "at": at, "settle_by": settle_by}

    def flag_violation(self, violation_type: str, evidence: str, at: datetime, check_due: datetime | None,
                       by_agency: str | None = None, by_role: str | None = None) -> bool:
        """A suspected violation seen while handling this complaint, whatever its
        state: its own penalty case follows (另案处理). False for a repeat."""
        if at < self.received_at:
            raise InvalidField("at", "at is before the complaint was received: a violation is seen while handling it")
        if (violation_type, evidence) in [(v["violation_type"], v["evidence"])
                                          for v in getattr(self, "violations", [])]:
            return False
        self._violation_flagged(violation_type, evidence, at, check_due, by_agency=by_agency, by_role=by_role)
        return True

    @event("ViolationFlagged")
    def _violation_flagged(self, violation_type: str, evidence: str, at: datetime, check_due: datetime | None,
                           by_agency: str | None = None, by_role: str | None = None) -> None:
        self.violations = [*getattr(self, "violations", []),
                           {"violation_type": violation_type, "evidence": evidence, "at": at, "check_due": check_due}]

    @event("DecisionOverdue")
    def flag_overdue(self, at: datetime) -> None:
        self.overdue_flagged = True

    @event("DecisionDueRecomputed")
    def recompute_due(self, decision_due: datetime, provisional: bool, at: datetime) -> None:
        """The holiday notice for the due date's year arrived (or a newer calendar)."""
        self.decision_due, self.provisional_due = decision_due, provisional

    def answer_referral(self, referral_id: str, agency_id: str, acknowledged: bool, reason: str | None,
                        at: datetime, by_role: str | None = None) -> bool:
        """False when the answer changes nothing (unknown referral, already
        answered). by_role: who at the agency answered, when the answer came
        over HTTP (the acting agency is then the answering one)."""
        if reason is not None and len(reason) > MAX_REASON:
            # As over HTTP; a reply on the topic says so in its dead letter. Kept, it
            # went out twice in one message, larger than the broker takes.
            raise InvalidField("reason", f"reason is {len(reason)} characters; at most {MAX_REASON}")
        if self.unanswerable(referral_id, agency_id) is not None:
            return False
        by_agency = agency_id if by_role else None
        if acknowledged:
            self._referral_acknowledged(referral_id, agency_id, at, by_agency=by_agency, by_role=by_role)
        else:
            self._referral_declined(referral_id, agency_id, reason or "", at, by_agency=by_agency, by_role=by_role)
        return True

    def unanswerable(self, referral_id: str, agency_id: str) -> str | None:
        """Why this agency cannot answer this referral; None when it can."""
        referral = self.referrals.get(referral_id)
        if referral is None:
            return (f"no referral {referral_id} of complaint {self.complaint_id}: a reply quotes the referral_id "
                    "its inbox carried")
        if referral["to_agency_id"] != agency_id:
            return f"referral {referral_id} is addressed to {referral['to_agency_id']}, not {agency_id}"
        if referral["status"] not in ANSWERABLE:
            return f"referral {referral_id} was answered already ({referral['status']})"
        return None

    def waiting_referral(self, agency_id: str) -> str | None:
        """The referral issued to the agency and not yet answered, if any."""
        return next((rid for rid, r in self.referrals.items()
                     if r["to_agency_id"] == agency_id and r["status"] in ANSWERABLE), None)

    @event("ReferralAcknowledged")
    def _referral_acknowledged(self, referral_id: str, agency_id: str, at: datetime,
                               by_agency: str | None = None, by_role: str | None = None) -> None:
        self.referrals[referral_id] = {**self.referrals[referral_id], "status": "ACKNOWLEDGED"}

    @event("ReferralDeclined")
    def _referral_declined(self, referral_id: str, agency_id: str, reason: str, at: datetime,
                           by_agency: str | None = None, by_role: str | None = None) -> None:
        self.referrals[referral_id] = {**self.referrals[referral_id], "status": "DECLINED"}
        self.declined_by = [*self.declined_by, agency_id]
        # Declined: routing decides again.
        self.state = "RECEIVED"

    @event("ReferralOverdue")
    def flag_referral_overdue(self, referral_id: str, at: datetime) -> None:
        self.referrals[referral_id] = {**self.referrals[referral_id], "status": "OVERDUE"}


class Dispute(Aggregate):
    """A consumer's dispute a bureau accepted a complaint about (`rules.dispute_key`,
    sealed: it holds the consumer's phone or identity number): under Orders 20
    and 121 the same dispute is not accepted again."""

    @staticmethod
    def create_id(key: str):
        return derive_id("routing", "dispute", key)

    @event("Accepted")
    def __init__(self, key: str, complaint_id: str, agency_id: str, accepted_at: datetime):
        self.key = key
        self.complaint_id = complaint_id
        self.agency_id = agency_id
        self.accepted_at = accepted_at

    def as_earlier(self) -> dict:
        return {"complaint_id": self.complaint_id, "agency_id": self.agency_id, "accepted_at": self.accepted_at}
