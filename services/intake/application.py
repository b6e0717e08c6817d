"""Intake: requests in (durable before acknowledged), status out."""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone, timedelta

from eventsourcing.persistence import IntegrityError

from services.bus import correlation
from services.bus.messages import Outgoing
from services.bus.store import ServiceApplication

from .domainmodel import ComplaintStatus, IdempotencyKey, IdempotencyKeyReused, Request

CST = timezone(timedelta(hours=8))
RECORD_TYPES = {"COMPLAINT": "ComplaintReceived", "REPORT": "ReportReceived",
                "CONSULTATION": "ConsultationReceived"}


# (kind, record, Idempotency-Key or None): one request as validated.
Submission = tuple[str, dict, "str | None"]


class ComplaintNotFound(LookupError):
    pass


def new_complaint_id(now: datetime) -> str:
    return f"TS-{now.astimezone(CST):%Y%m%d}-{uuid.uuid4().hex[:12].upper()}"


class Intake(ServiceApplication):
    name = "intake"

    def submit(self, kind: str, record: dict, idempotency_key: str | None = None) -> dict:
        """Store the request (two, linked, for a complaint that is also a
        report) and return the answer the caller gets. Nothing is acknowledged
        before it is stored."""
        [answer] = self.submit_many([(kind, record, idempotency_key)])
        if isinstance(answer, Exception):
            raise answer
        return answer

    def submit_many(self, submissions: list[Submission],
                    request_ids: list[str | None] | None = None) -> list[dict | IdempotencyKeyReused]:
        """Store many requests in one transaction: the answer to each, in order,
        or the IdempotencyKeyReused that refuses it. A failure to store raises,
        and then none of them was stored. `request_ids`: the HTTP request each
        came in (kept on its events), when they came in several."""
        now = self.clock.now()
        answers: list[dict | IdempotencyKeyReused] = []
        aggregates = []
        # Keys first used in this batch: a retry racing its original lands here.
        batch_keys: dict[str, tuple[str, dict]] = {}
        for index, (kind, record, key) in enumerate(submissions):
            fingerprint = request_fingerprint(kind, record) if key else None
            if key in batch_keys:
                first_fingerprint, response = batch_keys[key]
                answers.append(response if fingerprint == first_fingerprint else IdempotencyKeyReused(key))
                continue
            earlier = self.find(IdempotencyKey.create_id(key)) if key else None
            if earlier is not None:
                try:
                    answers.append(earlier.answer(fingerprint))
                except IdempotencyKeyReused as exc:
                    answers.append(exc)
                continue
            filed, response = self._filed(kind, record, now)
            if key:
                filed.append(IdempotencyKey(key, response, fingerprint))
                batch_keys[key] = (fingerprint, response)
            if request_ids:
                correlation.stamp((e for a in filed for e in a._pending_events), request_ids[index])
            aggregates.extend(filed)
            answers.append(response)
        if not aggregates:
            return answers
        try:
            self.save(*aggregates)
        except IntegrityError:
            # Another writer stored one of these keys first: its answer stands.
            if len(submissions) > 1:
                rids = request_ids or [None] * len(submissions)
                return [self._submit_alone(*submission, rid) for submission, rid in zip(submissions, rids)]
            [(_, _, key)] = submissions
            earlier = self.find(IdempotencyKey.create_id(key)) if key else None
            if earlier is None:
                raise
            try:
                return [earlier.answer(request_fingerprint(*submissions[0][:2]))]
            except IdempotencyKeyReused as exc:
                return [exc]
        return answers

    def _submit_alone(self, kind: str, record: dict, key: str | None,
                      rid: str | None) -> dict | IdempotencyKeyReused:
        [answer] = self.submit_many([(kind, record, key)], [rid])
        return answer

    def _filed(self, kind: str, record: dict, now: datetime) -> tuple[list, dict]:
        """The aggregates one request is stored as, and the answer to it."""
        filings = split_filings(kind, record)
        ids = [new_complaint_id(now) for _ in filings]
        aggregates = []
        for (filed_kind, filed), complaint_id in zip(filings, ids):
            linked = next((other for other in ids if other != complaint_id), None)
            if filed_kind != "CONSULTATION":
                filed = {**filed, "linked_request_id": linked}
            aggregates.append(Request(complaint_id, filed_kind, filed, now))
            aggregates.append(ComplaintStatus(
                complaint_id, filed_kind, now, status="CLOSED" if filed_kind == "CONSULTATION" else "RECEIVED",
                linked_request_id=linked))
        response = {"complaint_id": ids[0], "kind": filings[0][0], "status_url": f"/complaints/{ids[0]}"}
        if len(ids) > 1:
            response["linked_request_id"] = ids[1]
        return aggregates, response

    def status(self, complaint_id: str) -> dict:
        view = self.find(ComplaintStatus.create_id(complaint_id))
        if view is None:
            raise ComplaintNotFound(complaint_id)
        return status_document(view)

    def record(self, complaint_id: str) -> Request:
        request = self.find(Request.create_id(complaint_id))
        if request is None:
            raise ComplaintNotFound(complaint_id)
        return request


def request_fingerprint(kind: str, record: dict) -> str:
    """The request as validated (phones, codes in one written form), so a retry
    that only reformats a field is still the same request."""
    canonical = json.dumps([kind, record], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# What only a complaint carries: the remedy asked for, the findings Order
# No. 121 makes grounds for not accepting a complaint, and a joint complaint's
# consumers (a report has no representatives to elect).
COMPLAINT_ONLY = ("demands", "identity_verification", "false_materials", "co_consumers", "representatives")


def split_filings(kind: str, record: dict) -> list[tuple[str, dict]]:
    """One submission that is both a complaint and a report is two requests."""
    if kind == "COMPLAINT" and record.get("alleged_violation"):
        complaint = {k: v for k, v in record.items() if k != "alleged_violation"}
        report = {k: v for k, v in record.items() if k not in COMPLAINT_ONLY}
        return [("COMPLAINT", complaint), ("REPORT", report)]
    return [(kind, {k: v for k, v in record.items() if not (kind == "COMPLAINT" and k == "alleged_violation")})]


# REPEAT_REPORT: the same report again once its case had ended (Order 121 art. 35).
REPORT_ENDINGS = ("CASE_CLOSED", "FILING_DECLINED", "REPEAT_REPORT")


def _reason(view: ComplaintStatus) -> str | None:
    # A referral's reason is DOMAIN.md's code; views stored before it said so hold the subject area.
    if view.status == "REFERRED":
        return "OUT_OF_REMIT"
    # Reports closed before their endings were codes hold the case's closing note: never shown.
    if view.kind == "REPORT" and view.status == "CLOSED" and view.reason not in REPORT_ENDINGS:
        return None
    return view.reason


def status_document(view: ComplaintStatus) -> dict:
    """The status with no personal data: safe for whoever holds the id. Times
    are shown in China time (+08:00), the clock the deadlines are counted on."""
    return {
        "complaint_id": view.complaint_id, "kind": view.kind, "status": view.status,
        "agency_id": view.agency_id, "reason": _reason(view),
        "explanation": view.explanation,
        "grounds": list(getattr(view, "grounds", None) or []),
        "rulebook": getattr(view, "rulebook", None),
        "received_at": _china(view.received_at), "decided_at": _china(view.decided_at),
        "decision_due": _china(view.decision_due), "decision_overdue": view.decision_overdue,
        "mediation_due": _china(view.mediation_due), "mediation_paused": view.mediation_paused,
        "outcome": view.outcome, "amount_recovered_fen": view.amount_recovered_fen,
        "penalty_case_ids": list(view.penalty_case_ids), "linked_request_id": view.linked_request_id,
        # Views stored before referral answers were followed have none of these.
        "referral_answer": getattr(view, "referral_answer", None),
        "referral_answered_by": getattr(view, "referral_answered_by", None),
        "referral_answered_at": _china(getattr(view, "referral_answered_at", None)),
        "updated_at": _china(view.updated_at),
        "mediation_suspended": getattr(view, "mediation_suspended", False),
        "termination_notice_due": _china(getattr(view, "termination_notice_due", None)),
        "termination_notified_at": _china(getattr(view, "termination_notified_at", None)),
        "termination_notice_late": getattr(view, "termination_notice_late", False),
        "transfer_explanation": getattr(view, "transfer_explanation", None),
        "next_session": _session(getattr(view, "next_session", None)),
        # A due date in a year whose holiday notice is not loaded yet may still move.
        "decision_due_provisional": getattr(view, "decision_due_provisional", False),
        "mediation_due_provisional": getattr(view, "mediation_due_provisional", False),
        # No address showed the competent bureau: the receiving one holds it until a person places it.
        "needs_placement": getattr(view, "needs_placement", False),
    }


_CHINA = timezone(timedelta(hours=8), "CST")


def _session(session: dict | None) -> dict | None:
    return None if session is None else {**session, "session_at": _china(session["session_at"])}


def _china(instant: datetime | None) -> datetime | None:
    return None if instant is None else instant.astimezone(_CHINA)


def integration_events(event, request) -> list[Outgoing]:
    if isinstance(event, Request.Received):
        record = {"complaint_id": event.complaint_id, **event.record}
        if event.kind == "CONSULTATION":
            record.pop("consumer", None)
        return [Outgoing("complaints.received", event.complaint_id, RECORD_TYPES[event.kind], record)]
    return []
