"""Routing: jurisdiction, acceptance and referral decisions, and their deadlines."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime

from eventsourcing.persistence import IntegrityError

from services.agencies.directory import Directory
from services.agencies.ids import adcode_of
from services.bus.logindex import Watchlist
from services.bus.messages import Decoded
from services.bus.store import ServiceApplication, UnitOfWork, conflict_retried

from . import calendar, rules
from . import rulebook as rulebooks
from .domainmodel import Dispute, Complaint


log = logging.getLogger(__name__)


class ReplyRefused(ValueError):
    """A reply on referrals.replies that answers no referral waiting for it."""


class ComplaintNotFound(LookupError):
    pass


class JurisdictionRefused(Exception):
    """A jurisdiction command the complaint or the directory does not allow."""

    def __init__(self, message: str, current_state: str | None = None):
        super().__init__(message)
        self.current_state = current_state


class Routing(ServiceApplication):
    name = "routing"

    def __init__(self, env=None, clock=None, directory: Directory | None = None):
        super().__init__(env=env, clock=clock)
        self.directory = directory or Directory.load()
        # The setting is read once: a complaint keeps the rulebook recorded at
        # its receipt, so changing it later affects only complaints received later.
        self.rulebook_choice = rulebooks.setting()
        calendar.load_notices()
        # Complaints a timer may have to flag: the undecided and the referred.
        self.open_complaints = Watchlist(
            self, Complaint.Received, Complaint.Referred, Complaint.ReferralDeclined,
            # Decided with no referral waiting for an answer: nothing left to watch.
            until=(Complaint.Accepted, Complaint.Rejected, Complaint.ReferralAcknowledged, Complaint.ReferralOverdue),
            basis=calendar.loaded_notices)

    # Upstream events -------------------------------------------------------

    def complaint_received(self, uow: UnitOfWork, item: Decoded) -> None:
        self.receive(uow, item.record)

    def referral_acknowledged(self, uow: UnitOfWork, item: Decoded) -> None:
        self.referral_answered(uow, True, item.record)

    def referral_declined(self, uow: UnitOfWork, item: Decoded) -> None:
        self.referral_answered(uow, False, item.record)

    def receive(self, uow: UnitOfWork, record: dict) -> None:
        complaint_id = record["complaint_id"]
        if uow.get(Complaint.create_id(complaint_id)) is not None:
            return  # the same complaint published twice under two positions
        received_at = record["occurred_at"]
        rulebook = rulebooks.chosen(received_at, self.rulebook_choice)
        due, provisional = self.decision_due(received_at, rulebook)
        complaint = Complaint(complaint_id, {k: v for k, v in record.items() if k not in ("event_id", "occurred_at")},
                              received_at, due, provisional_due=provisional, rulebook=rulebook.name)
        uow.add(complaint)
        self.decide(complaint, uow)

    def decision_due(self, received_at: datetime, rulebook: rulebooks.Rulebook | None = None) -> tuple[datetime, bool]:
        """The due date, and whether a day it depends on is in a year whose
        holiday notice is not loaded yet: then it is provisional (no New Year,
        Spring Festival or National Day day counted as working), the complaint
        is still decided, and the date is recomputed when the notice arrives."""
        rulebook = rulebook or rulebooks.chosen(received_at, self.rulebook_choice)
        due, provisional = calendar.period_due(received_at, rulebook.decision)
        if provisional:
            log.warning("complaint received %s: decision due %s is provisional (holiday notice not loaded)",
                        received_at, due)
        return due, provisional

    def decide(self, complaint: Complaint, uow: UnitOfWork) -> None:
        now = self.clock.now()
        record = complaint.record
        if now > complaint.decision_due and not complaint.overdue_flagged:
            complaint.flag_overdue(now)
        receiving = record.get("receiving_agency_id")
        rulebook = rulebooks.named(complaint.rulebook)
        elsewhere = rules.lacks_competence(record, self.directory, rulebook)
        # Kept with the decision: two workers accepting the same dispute at once
        # conflict on it, and the batch tried again finds the first.
        key = rules.dispute_key(record) if rulebook.bars_dispute_accepted_before else None
        key = self.sealed(key) if key else None
        earlier = uow.get(Dispute.create_id(key)) if key else None
        found = rules.refusals(record, complaint.received_at, rulebook, elsewhere,
                               accepted_before=earlier.as_earlier() if earlier else None)
        rejection = found[0] if found else None
        if rejection is not None and rejection.reason == "OUT_OF_REMIT":
            if self.referral_target(record):
                self.refer(complaint, now)
                return
            # Nowhere to refer it: the complainant is told why and where to turn.
        if rejection is not None:
            # Not competent: the bureau that received it decides, and names the competent one.
            handler = receiving if elsewhere else (rules.jurisdiction(record, self.directory, rulebook).agency_id
                                                   or receiving)
            complaint.reject(handler, rejection.reason, rejection.explanation, now,
                             grounds=[{"reason": r.reason, "explanation": r.explanation} for r in found])
            return
        decision = rules.jurisdiction(record, self.directory, rulebook)
        agency = decision.agency_id or receiving
        if decision.transfer_from:
            complaint.transfer(decision.transfer_from, agency, decision.basis, now)
        # No address showed the competent bureau: the receiving one holds the
        # complaint, marked for a person to place, since competence is the
        # operator's or the act's place (Order 62 art. 6, Order 20 art. 12,
        # Order 121 art. 13), never the receiver's by default.
        complaint.accept(agency, decision.basis, now, needs_placement=decision.agency_id is None)
        if key:
            uow.add(Dispute(key, complaint.complaint_id, agency, now))

    def referral_target(self, record: dict) -> str | None:
        subject = record["subject_area"]
        receiving = record.get("receiving_agency_id") or ""
        for adcode in (_location(record), adcode_of(receiving)):
            target = rules.referral_target(subject, adcode, self.directory) if adcode else None
            if target:
                return target
        return None

    def refer(self, complaint: Complaint, now: datetime, to_agency_id: str | None = None) -> None:
        record = complaint.record
        subject = record["subject_area"]
        target = to_agency_id or self.referral_target(record)
        number = len(complaint.referrals) + 1
        days = rulebooks.named(complaint.rulebook).referral_reply_working_days
        reply_due, _ = calendar.period_due(now, rulebooks.Period(days, rulebooks.WORKING_DAYS, ""))
        # The id is the addressee's proof on referrals.replies: only its inbox
        # carries it, so no other agency can answer in its name.
        referral_id = f"{complaint.complaint_id}/R{number}-{secrets.token_hex(16)}"
        complaint.refer(referral_id, record.get("receiving_agency_id") or "",
                        target, subject, reply_due, now)

    def referral_answered(self, uow: UnitOfWork, acknowledged: bool, record: dict) -> None:
        complaint = uow.get(Complaint.create_id(record["complaint_id"]))
        if complaint is None:
            raise ComplaintNotFound(f"a reply names complaint {record['complaint_id']}, which routing never received")
        # Only agency systems write referrals.replies: the answering agency's system acted.
        if not self._answer(complaint, record["referral_id"], record["agency_id"], acknowledged, record.get("reason"),
                            record.get("suggested_agency_id"), self.clock.now(), by_role="AGENCY_SYSTEM"):
            # Nothing dropped silently: the reply becomes a dead letter saying why.
            raise ReplyRefused(complaint.unanswerable(record["referral_id"], record["agency_id"]))

    def _answer(self, complaint: Complaint, referral_id: str, agency_id: str, acknowledged: bool,
                reason: str | None, suggested: str | None, now: datetime, by_role: str | None = None) -> bool:
        changed = complaint.answer_referral(referral_id, agency_id, acknowledged, reason, now, by_role=by_role)
        if not changed or acknowledged:
            return changed
        # A referral goes to another agency: a market-regulation bureau named in
        # a decline (on referrals.replies, where no 422 can answer) is not one.
        if (suggested and suggested not in complaint.declined_by and self.directory.exists(suggested)
                and self.directory.agency(suggested).kind != "AMR"):
            self.refer(complaint, now, to_agency_id=suggested)
        else:
            complaint.reject(complaint.record.get("receiving_agency_id") or agency_id, "OUT_OF_REMIT",
                             declined_explanation(agency_id, reason, rulebooks.named(complaint.rulebook)), now)
        return True

    def answer_referral(self, complaint_id: str, agency_id: str, acknowledged: bool, reason: str | None,
                        suggested: str | None, at: datetime, by_role: str) -> Complaint:
        """An agency answers over HTTP what it would otherwise answer on
        `referrals.replies`: the referral waiting for it, and no other."""
        def answer(complaint: Complaint) -> None:
            referral_id = complaint.waiting_referral(agency_id)
            if referral_id is None:
                raise JurisdictionRefused(f"no referral of complaint {complaint_id} is waiting for {agency_id}'s answer",
                                          current_state=complaint.state)
            self._answer(complaint, referral_id, agency_id, acknowledged, reason, suggested, at, by_role)

        return self.change(lambda: self.complaint(complaint_id), answer)

    # Timers ----------------------------------------------------------------

    def flag_overdue(self) -> int:
        """DecisionOverdue for every complaint still undecided at its due time;
        unanswered referrals flagged after their reply time."""
        now, flagged = self.clock.now(), 0
        for complaint_id in self.open_complaints.due(now):
            complaint = self.find(complaint_id)
            waiting = [r for r, referral in complaint.referrals.items() if referral["status"] == "ISSUED"]
            if complaint.is_decided and not waiting:
                self.open_complaints.drop(complaint_id)
                continue
            before = complaint.version
            if complaint.provisional_due:
                due, provisional = self.decision_due(complaint.received_at, rulebooks.named(complaint.rulebook))
                if not provisional or due != complaint.decision_due:
                    complaint.recompute_due(due, provisional, now)
            if not complaint.is_decided and not complaint.overdue_flagged and now > complaint.decision_due:
                complaint.flag_overdue(now)
            for referral_id in waiting:
                if now >= complaint.referrals[referral_id]["reply_due"]:
                    complaint.flag_referral_overdue(referral_id, now)
            if complaint.version != before:
                flagged += complaint.version - before
                try:
                    self.save(complaint)
                except IntegrityError:
                    pass  # an answer arrived at the same moment; the next round looks again
            else:
                self.open_complaints.not_before(complaint_id, complaint.version, complaint.next_limit)
        return flagged

    # Case work on jurisdiction --------------------------------------------

    @conflict_retried
    def escalate(self, complaint_id: str, at: datetime, by_agency: str, by_role: str) -> Complaint:
        """A bureau asks its superior to decide who handles the complaint (arts. 8-9):
        a request; the complaint stays where it is until the superior decides."""
        complaint = self.complaint(complaint_id)
        superior = rules.escalate(complaint.agency_id, self.directory)
        if superior is None:
            raise JurisdictionRefused(f"{complaint.agency_id} has no superior bureau in the directory")
        if getattr(complaint, "escalation", None) is not None:
            raise JurisdictionRefused(f"complaint {complaint_id} already waits for "
                                      f"{complaint.escalation['superior_id']}'s decision", current_state=complaint.state)
        complaint.request_escalation(by_agency, superior, at, by_role=by_role)
        self.save(complaint)
        return complaint

    @conflict_retried
    def decide_escalation(self, complaint_id: str, decision: str, agency_id: str | None, at: datetime,
                          by_agency: str, by_role: str) -> Complaint:
        """The superior takes the complaint over, designates a bureau below it, or refuses."""
        complaint = self.complaint(complaint_id)
        request = getattr(complaint, "escalation", None)
        if request is None:
            raise JurisdictionRefused(f"complaint {complaint_id} has no request waiting for a superior's decision",
                                      current_state=complaint.state)
        superior = request["superior_id"]
        if decision == "TAKE_OVER":
            complaint.transfer(complaint.agency_id, superior, "ESCALATED", at, by_agency=by_agency, by_role=by_role)
        elif decision == "DESIGNATE":
            if not agency_id or not self.directory.is_superior(superior, agency_id):
                raise JurisdictionRefused(f"{agency_id} is not a bureau below {superior}")
            complaint.transfer(complaint.agency_id, agency_id, f"DESIGNATED_BY_{superior}", at,
                               by_agency=by_agency, by_role=by_role)
        else:
            complaint.refuse_escalation(by_agency, at, by_role=by_role)
        self.save(complaint)
        return complaint

    @conflict_retried
    def take_over(self, complaint_id: str, at: datetime, by_agency: str, by_role: str) -> Complaint:
        """A bureau above the handling one, at any level, takes the complaint to
        handle itself (Order 62 art. 8; Order 20 art. 12; Order 121 art. 13)."""
        complaint = self.complaint(complaint_id)
        if not self.directory.is_superior(by_agency, complaint.agency_id):
            raise JurisdictionRefused(f"{by_agency} is not above {complaint.agency_id}", current_state=complaint.state)
        complaint.transfer(complaint.agency_id, by_agency, "TAKEN_OVER", at, by_agency=by_agency, by_role=by_role)
        self.save(complaint)
        return complaint

    @conflict_retried
    def dispute(self, complaint_id: str, with_agency_id: str, at: datetime, by_agency: str,
                by_role: str) -> Complaint:
        complaint = self.complaint(complaint_id)
        if not self.directory.exists(with_agency_id) or with_agency_id == complaint.agency_id:
            raise JurisdictionRefused(f"{with_agency_id} is not another bureau in the directory")
        if complaint.dispute is not None:
            if set(complaint.dispute["between"]) == {complaint.agency_id, with_agency_id}:
                return complaint  # raised already: its date, and the period it started, stand
            raise JurisdictionRefused(f"a dispute between {' and '.join(complaint.dispute['between'])} is already "
                                      f"before {complaint.dispute['superior_id']}", current_state=complaint.state)
        superior = rules.resolve_dispute(complaint.agency_id, with_agency_id, self.directory)
        if superior is None:
            raise JurisdictionRefused(f"{complaint.agency_id} and {with_agency_id} have no common superior bureau")
        period = rulebooks.named(complaint.rulebook).dispute_settlement
        settle_by = calendar.period_due(at, period)[0] if period is not None else None
        complaint.raise_dispute(by_agency, with_agency_id, superior, at, by_role=by_role, settle_by=settle_by)
        self.save(complaint)
        return complaint

    @conflict_retried
    def designate(self, complaint_id: str, agency_id: str, at: datetime, by_agency: str,
                  by_role: str) -> Complaint:
        """The common superior names the bureau that handles a disputed complaint."""
        complaint = self.complaint(complaint_id)
        if complaint.dispute is None:
            raise JurisdictionRefused(f"complaint {complaint_id} has no jurisdiction dispute to decide",
                                      current_state=complaint.state)
        if agency_id not in complaint.dispute["between"] and agency_id != complaint.dispute["superior_id"]:
            raise JurisdictionRefused(f"{agency_id} is not a party to the dispute nor the superior deciding it")
        complaint.transfer(complaint.agency_id, agency_id, f"DESIGNATED_BY_{complaint.dispute['superior_id']}", at,
                           by_agency=by_agency, by_role=by_role)
        self.save(complaint)
        return complaint

    def flag_violation(self, complaint_id: str, violation_type: str, evidence: str, at: datetime,
                       by_agency: str | None, by_role: str | None) -> Complaint:
        """Any complaint the bureau handles or handled may show a violation. A
        lead found in mediation (an accepted complaint) under SAMR-20 or
        SAMR-121 is to be checked within their period (15 working days)."""
        def flag(complaint: Complaint) -> None:
            period = rulebooks.named(complaint.rulebook).violation_check
            check_due = (calendar.period_due(at, period)[0]
                         if period is not None and complaint.state == "ACCEPTED" else None)
            complaint.flag_violation(violation_type, evidence, at, check_due, by_agency=by_agency, by_role=by_role)

        return self.change(lambda: self.complaint(complaint_id), flag)

    def complaint(self, complaint_id: str) -> Complaint:
        found = self.find(Complaint.create_id(complaint_id))
        if found is None:
            raise ComplaintNotFound(f"no complaint {complaint_id} is known to routing (a consultation is closed at "
                                    "intake and a report goes to enforcement as it is: neither is routed)")
        return found

    # Case work (`casework.act_on_case`) asks each service's application for the case.
    case = complaint


def declined_explanation(agency_id: str, reason: str | None, rulebook: rulebooks.Rulebook) -> str:
    routes = rules.other_routes(rulebook)
    return (f"您的投诉不属于市场监督管理部门职责范围,已移送的{agency_id}回复不予处理"
            f"({reason or '未说明理由'}),请向有关主管部门反映或通过诉讼、仲裁等途径解决。{routes}")


def _location(record: dict) -> str | None:
    """Where the matter is: the operator's location, else where the act took place."""
    respondent = record.get("respondent") or {}
    transaction = record.get("transaction") or {}
    return respondent.get("adcode") or transaction.get("place_adcode")
