"""What intake keeps: each request as received, a status view that follows the
decisions, mediation and penalty cases, and the idempotency keys of POSTs."""
from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.ids import derive_id
from services.contract.status import STATUS_RANK

KINDS = ("COMPLAINT", "REPORT", "CONSULTATION")

NOTED = ("mediation_suspended", "termination_notice_due", "termination_notified_at", "termination_notice_late",
         "transfer_explanation", "next_session", "decision_due_provisional", "mediation_due_provisional",
         "needs_placement")


class Request(Aggregate):
    """A complaint, report or consultation exactly as intake received it."""

    @staticmethod
    def create_id(complaint_id: str):
        return derive_id("request", complaint_id)

    @event("Received")
    def __init__(self, complaint_id: str, kind: str, record: dict, received_at: datetime):
        self.complaint_id = complaint_id
        self.kind = kind
        self.record = record
        self.received_at = received_at


class ComplaintStatus(Aggregate):
    """The status of one request as the system knows it: what `GET /complaints/{id}` shows."""

    @staticmethod
    def create_id(complaint_id: str):
        return derive_id("status", complaint_id)

    @event("Opened")
    def __init__(self, complaint_id: str, kind: str, received_at: datetime, status: str = "RECEIVED",
                 linked_request_id: str | None = None):
        self.complaint_id = complaint_id
        self.kind = kind
        self.received_at = received_at
        self.status = status
        self.linked_request_id = linked_request_id
        self.agency_id: str | None = None
        self.reason: str | None = None
        self.explanation: str | None = None
        self.decision_due: datetime | None = None
        self.decided_at: datetime | None = None
        self.decision_overdue = False
        self.mediation_due: datetime | None = None
        self.mediation_paused = False
        self.outcome: str | None = None
        self.amount_recovered_fen: int | None = None
        self.penalty_case_ids: list[str] = []
        self.updated_at = received_at
        self.referral_answer: str | None = None
        self.referral_answered_by: str | None = None
        self.referral_answered_at: datetime | None = None
        self.rulebook: str | None = None
        self.grounds: list[dict] = []

    @event("Changed")
    def change(self, status: str, at: datetime, agency_id: str | None = None, reason: str | None = None,
               explanation: str | None = None, rulebook: str | None = None,
               grounds: list[dict] | None = None) -> None:
        if STATUS_RANK[status] >= STATUS_RANK[self.status]:
            self.status = status
            self.reason, self.explanation = reason, explanation
            if grounds is not None:
                self.grounds = grounds
        if agency_id is not None:
            self.agency_id = agency_id
        if rulebook is not None:
            self.rulebook = rulebook
        self.updated_at = at

    @event("Decided")
    def decided(self, at: datetime, decision_due: datetime | None) -> None:
        self.decided_at = at
        if decision_due is not None:
            self.decision_due = decision_due

    @event("DecisionOverdue")
    def flag_overdue(self, decision_due: datetime, at: datetime | None = None) -> None:
        self.decision_overdue = True
        self.decision_due = decision_due
        self._touched(at)

    @event("MediationDueSet")
    def set_mediation_due(self, mediation_due: datetime | None, paused: bool, at: datetime | None = None) -> None:
        self.mediation_due = mediation_due
        self.mediation_paused = paused
        self._touched(at)

    @event("Noted")
    def note(self, facts: dict, at: datetime | None = None) -> None:
        """Facts of the mediation's formalities the status shows (suspension,
        the termination notice): names from NOTED, values as the event said."""
        for name, value in facts.items():
            if name in NOTED:
                setattr(self, name, value)
        self._touched(at)

    @event("MediationConcluded")
    def conclude(self, outcome: str, amount_recovered_fen: int | None, at: datetime | None = None) -> None:
        self.outcome = outcome
        self.amount_recovered_fen = amount_recovered_fen
        self._touched(at)

    @event("ReferralAnswered")
    def referral_answered(self, answer: str, agency_id: str, at: datetime) -> None:
        self.referral_answer, self.referral_answered_by, self.referral_answered_at = answer, agency_id, at
        self._touched(at)

    @event("PenaltyCaseLinked")
    def link_case(self, case_id: str, at: datetime | None = None) -> None:
        if case_id not in self.penalty_case_ids:
            self.penalty_case_ids = [*self.penalty_case_ids, case_id]
        self._touched(at)

    def _touched(self, at: datetime | None) -> None:
        # Events stored before they carried `at` leave it where it was.
        if at is not None and at > self.updated_at:
            self.updated_at = at


class IdempotencyKeyReused(ValueError):
    """The key came with a different request: answering with the first one's id
    would acknowledge a complaint that was never stored."""


class IdempotencyKey(Aggregate):
    """The first answer to a POST with an Idempotency-Key, kept for its retries."""

    @staticmethod
    def create_id(key: str):
        return derive_id("idempotency", key)

    @event("Used")
    def __init__(self, key: str, response: dict, fingerprint: str | None = None):
        self.key = key
        self.response = response
        self.fingerprint = fingerprint  # None for keys stored before requests were fingerprinted

    def answer(self, fingerprint: str) -> dict:
        """The first answer, for a retry of the same request only."""
        if self.fingerprint is not None and fingerprint != self.fingerprint:
            raise IdempotencyKeyReused(self.key)
        return self.response
