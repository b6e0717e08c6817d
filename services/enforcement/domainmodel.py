"""The penalty case: a lead handled under the administrative-penalty procedure
as a case of its own (另案处理), linked to complaints but never blocking them.

Lead received -> filed (立案) or filing declined (不予立案, final) -> investigation
-> decision (a penalty, or no penalty) -> closed (结案). Starting the
investigation of a lead nobody filed files it at the same moment: the case-work
routes have no separate filing step, and an investigation is only lawful on a
filed case. Each public command checks first and only then triggers its events,
so a refused command leaves nothing behind."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services import checks
from services.contract.errors import InvalidField
from services.contract.vocabulary import VIOLATION_TYPES
from services.ids import derive_id

from . import rules
from .rules import CLOSED, CONCLUSION, DECIDED, DECLINED, FILED, FILING, FINAL_STATES, INVESTIGATING, LEAD


class IllegalTransition(Exception):
    """A command the case's current state does not allow."""

    def __init__(self, current_state: str, message: str):
        super().__init__(f"{message} (the penalty case is {current_state})")
        self.current_state = current_state


class PenaltyCase(Aggregate):
    @staticmethod
    def create_id(origin: str, source_key: str) -> UUID:
        """`source_key` is what makes the lead unique: the ViolationFound event id
        (COMPLAINT), the report's complaint id (REPORT), the pattern key and
        window start (PATTERN). A replayed lead reaches the same case; the origin
        keeps a report's id from ever meeting a violation's."""
        return derive_id("enforcement", "case", origin, source_key)

    @event("Opened")
    def __init__(self, origin: str, source_key: str, complaint_ids: list[str], respondent: dict,
                 violation_type: str, agency_id: str, evidence: str | None, received_at: datetime,
                 # Keyword-only would suit these, but the library makes every
                 # keyword-only argument of a decorated __init__ required.
                 filing_days: int = rules.FILING_DAYS, conclusion_days: int = rules.CONCLUSION_DAYS,
                 by_agency: str | None = None, by_role: str | None = None, check_due: datetime | None = None,
                 filing_unit: str = rules.DAYS):
        """`check_due`: a lead found in mediation under SAMR-20 or SAMR-121 must be
        checked (filed or declined) by then, whatever `filing_days` says.
        `filing_unit`: what `filing_days` counts; calendar days for the leads
        stored before the unit was (`rules.Limits` gives working days)."""
        self.origin = checks.one_of(origin, rules.ORIGINS, "origin")
        self.source_key = checks.text(source_key, "source_key")
        self.complaint_ids = rules.complaint_ids(complaint_ids)
        self.respondent = rules.respondent(respondent)
        self.violation_type = checks.one_of(violation_type, VIOLATION_TYPES, "violation_type")
        self.agency_id = checks.text(agency_id, "agency_id")
        self.evidence = checks.optional_text(evidence, "evidence")
        self.received_at = checks.utc(received_at, "received_at")
        self.filing_days = rules.positive(filing_days, "filing_days")
        self.filing_unit = rules.unit(filing_unit, "filing_unit")
        self.conclusion_days = rules.positive(conclusion_days, "conclusion_days")
        self.status = LEAD
        self.filed_at: datetime | None = None
        self.investigation_started_at: datetime | None = None
        self.declined: dict | None = None
        self.decision: dict | None = None
        self.closure: dict | None = None
        self.flagged_overdue: list[str] = []
        self.check_due = None if check_due is None else checks.utc(check_due, "check_due")

    # -- what a case worker or the pattern watch asks for -----------------------------

    def file(self, at: datetime, *, by_agency: str | None = None, by_role: str | None = None) -> None:
        at = self._when(at)
        self._require(LEAD, "file the case", "only a lead not yet filed or declined can be filed")
        self._filed(at=at, by_agency=by_agency, by_role=by_role)

    def decline_filing(self, reason: str, at: datetime, *,
                       by_agency: str | None = None, by_role: str | None = None) -> None:
        reason = checks.text(reason, "reason")
        at = self._when(at)
        self._require(LEAD, "decline filing", "only a lead not yet filed can be declined")
        self._filing_declined(reason=reason, at=at, by_agency=by_agency, by_role=by_role)

    def start_investigation(self, at: datetime, *,
                            by_agency: str | None = None, by_role: str | None = None) -> None:
        at = self._when(at)
        self._require((LEAD, FILED), "start an investigation", "the investigation has already begun")
        if self.status == LEAD:
            self._filed(at=at, by_agency=by_agency, by_role=by_role)
        self._investigation_started(at=at, by_agency=by_agency, by_role=by_role)

    def decide(self, fine_fen: int, basis: str, at: datetime, *, no_penalty: bool = False,
               by_agency: str | None = None, by_role: str | None = None) -> None:
        """A penalty (`fine_fen` may be 0 for a penalty without a fine, such as a
        warning), or with `no_penalty` the decision not to punish (不予处罚)."""
        checks.fen(fine_fen, "fine_fen")
        basis = checks.text(basis, "basis")
        rules.flag(no_penalty, "no_penalty")
        if no_penalty and fine_fen:
            raise InvalidField("fine_fen", "a decision of no penalty cannot carry a fine")
        at = self._when(at)
        self._require(INVESTIGATING, "decide", "a decision follows the investigation")
        self._decided(fine_fen=fine_fen, basis=basis, no_penalty=no_penalty, at=at,
                      by_agency=by_agency, by_role=by_role)

    def close(self, outcome: str, at: datetime, *,
              by_agency: str | None = None, by_role: str | None = None) -> None:
        outcome = checks.text(outcome, "outcome")
        at = self._when(at)
        self._require(DECIDED, "close the case", "a case closes after its decision")
        self._closed(outcome=outcome, at=at, by_agency=by_agency, by_role=by_role)

    def extend_check(self, approved_by: str, reason: str, at: datetime, *,
                     by_agency: str | None = None, by_role: str | None = None) -> None:
        """The bureau's head approved checking the lead 15 working days longer:
        once, before the period ends. A lead found in mediation has its check
        period (SAMR-20 art. 23, SAMR-121 art. 27); any other, the 15 working
        days in which it is filed or declined (市场监督管理行政处罚程序规定
        art. 18: 特殊情况下，经市场监督管理部门负责人批准，可以延长十五个工作日)."""
        approved_by = checks.text(approved_by, "approved_by")
        reason = checks.text(reason, "reason")
        at = self._when(at)
        self._require(LEAD, "extend the check", "only a lead not yet filed or declined is being checked")
        check_due = getattr(self, "check_due", None)
        if check_due is None and getattr(self, "filing_unit", rules.DAYS) != rules.WORKING_DAYS:
            raise IllegalTransition(self.status, "this lead has no check period to extend: its filing period is "
                                                 "counted in calendar days, as leads opened before the working "
                                                 "days of the penalty procedure were")
        check_due = check_due or self.filing_due
        if getattr(self, "check_extension", None) is not None:
            raise IllegalTransition(self.status, "the check period was already extended; the rules allow it once")
        if at > check_due:
            raise IllegalTransition(self.status, f"the check period ended at {check_due.isoformat()}: an extension "
                                                 "is approved before it ends")
        new_due, provisional = rules.extended_check_due(check_due)
        self._check_extended(approved_by=approved_by, reason=reason, at=at, check_due=new_due,
                             provisional=provisional, by_agency=by_agency, by_role=by_role)

    def link_complaint(self, complaint_id: str, at: datetime, *,
                       by_agency: str | None = None, by_role: str | None = None) -> bool:
        """A further complaint joins the case; say whether it was new. A complaint
        already linked changes nothing, so a redelivered link is harmless."""
        complaint_id = checks.text(complaint_id, "complaint_id")
        at = checks.utc(at, "at")
        if complaint_id in self.complaint_ids:
            return False
        if self.is_final:
            raise IllegalTransition(self.status, f"cannot link complaint {complaint_id}: the case has ended")
        if at < self.received_at:
            raise InvalidField("at", "at is before the lead was received")
        self._complaint_linked(complaint_id=complaint_id, at=at, by_agency=by_agency, by_role=by_role)
        return True

    def report_again(self, complaint_id: str, new_facts: bool, at: datetime) -> bool:
        """The same reporter reports the same suspected violation of the same
        operator again (Order 121 art. 35: 不再另行处理): while this case
        handles the first report, it joins the case rather than opening one,
        and with new facts the filing period of a lead runs again from its
        receipt; once the case has ended, a report telling nothing new is not
        handled again and ends here. False when the report had joined already,
        or the case has ended and the report tells more (it is then handled
        anew: the case cannot take it)."""
        complaint_id = checks.text(complaint_id, "complaint_id")
        at = checks.utc(at, "at")
        if complaint_id in self.complaint_ids:
            return False
        if self.is_final:
            if new_facts or self.origin != "REPORT":
                return False
            self._reported_again(complaint_id=complaint_id, at=at, restarts=False, not_handled_again=True)
            return True
        # A lead found in mediation keeps its check period (SAMR-20 art. 23, SAMR-121 art. 27).
        restarts = bool(new_facts) and self.status == LEAD and getattr(self, "check_due", None) is None
        self._reported_again(complaint_id=complaint_id, at=at, restarts=restarts)
        return True

    # -- what the case looks like ---------------------------------------------------

    @property
    def case_number(self) -> str:
        """For people: derived from the id, so every replica prints the same one."""
        return "PC-" + self.id.hex[:12].upper()

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES

    @property
    def filing_due(self) -> datetime:
        # From the lead's receipt, or from a repeated report's that brought new facts (Order 121 art. 35).
        start = getattr(self, "filing_from", None) or self.received_at
        return getattr(self, "check_due", None) or rules.due(start, self.filing_days,
                                                             getattr(self, "filing_unit", rules.DAYS))

    @property
    def conclusion_due(self) -> datetime | None:
        """When the decision must be made; unknown until the case is filed."""
        return None if self.filed_at is None else rules.due(self.filed_at, self.conclusion_days)

    def overdue(self, now: datetime) -> list[str]:
        """The limits passed at `now` and not yet met: FILING while a lead waits
        for filing or declining; CONCLUSION while a filed case waits for its decision."""
        now = checks.utc(now, "now")
        if self.status == LEAD and now > self.filing_due:
            return [FILING]
        if self.status in (FILED, INVESTIGATING) and now > self.conclusion_due:
            return [CONCLUSION]
        return []

    @property
    def next_limit(self) -> datetime | None:
        """When `overdue` next has a limit to report, as things stand; None
        when none is left to pass until the case moves on."""
        if self.status == LEAD and FILING not in self.flagged_overdue:
            return self.filing_due
        if self.status in (FILED, INVESTIGATING) and CONCLUSION not in self.flagged_overdue:
            return self.conclusion_due
        return None

    @property
    def last_step_at(self) -> datetime:
        steps = [self.received_at, self.filed_at, self.investigation_started_at,
                 *(s["at"] for s in (self.declined, self.decision, self.closure) if s)]
        return max(s for s in steps if s is not None)

    # -- guards ---------------------------------------------------------------------

    def _when(self, at: datetime) -> datetime:
        at = checks.utc(at, "at")
        if at < self.last_step_at:
            raise InvalidField("at", f"at is before the case's previous step ({self.last_step_at.isoformat()})")
        return at

    def _require(self, allowed: str | tuple[str, ...], action: str, why: str) -> None:
        if self.status not in ((allowed,) if isinstance(allowed, str) else allowed):
            # `why` says what the step follows; an ended case follows nothing more.
            ended = {CLOSED: "the case is closed", DECLINED: "filing was declined: the case has ended"}
            raise IllegalTransition(self.status, f"cannot {action}: {ended.get(self.status, why)}")

    # -- events: their bodies only record what was decided ------------------------------

    @event("Filed")
    def _filed(self, at: datetime, by_agency: str | None, by_role: str | None) -> None:
        self.status, self.filed_at = FILED, at

    @event("FilingDeclined")
    def _filing_declined(self, reason: str, at: datetime, by_agency: str | None, by_role: str | None) -> None:
        self.status, self.declined = DECLINED, {"reason": reason, "at": at}

    @event("InvestigationStarted")
    def _investigation_started(self, at: datetime, by_agency: str | None, by_role: str | None) -> None:
        self.status, self.investigation_started_at = INVESTIGATING, at

    @event("Decided")
    def _decided(self, fine_fen: int, basis: str, no_penalty: bool, at: datetime,
                 by_agency: str | None, by_role: str | None) -> None:
        self.status = DECIDED
        self.decision = {"fine_fen": fine_fen, "basis": basis, "no_penalty": no_penalty, "at": at}

    @event("Closed")
    def _closed(self, outcome: str, at: datetime, by_agency: str | None, by_role: str | None) -> None:
        self.status, self.closure = CLOSED, {"outcome": outcome, "at": at}

    def flag_overdue(self, now: datetime) -> list[str]:
        """Record each time limit passed at `now` once; the audit stream shows it."""
        missed = [limit for limit in self.overdue(now) if limit not in self.flagged_overdue]
        for limit in missed:
            self._overdue_flagged(limit=limit, at=now)
        return missed

    @event("OverdueFlagged")
    def _overdue_flagged(self, limit: str, at: datetime) -> None:
        self.flagged_overdue = [*self.flagged_overdue, limit]

    @event("CheckExtended")
    def _check_extended(self, approved_by: str, reason: str, at: datetime, check_due: datetime, provisional: bool,
                        by_agency: str | None, by_role: str | None) -> None:
        self.check_extension = {"approved_by": approved_by, "reason": reason, "at": at,
                                "from": self.check_due, "provisional": provisional}
        self.check_due = check_due

    @event("ReportedAgain")
    def _reported_again(self, complaint_id: str, at: datetime, restarts: bool, not_handled_again: bool = False) -> None:
        self.complaint_ids = [*self.complaint_ids, complaint_id]
        if restarts:
            self.filing_from = at

    @event("ComplaintLinked")
    def _complaint_linked(self, complaint_id: str, at: datetime,
                          by_agency: str | None, by_role: str | None) -> None:
        self.complaint_ids = [*self.complaint_ids, complaint_id]


class ReportThread(Aggregate):
    """One reporter's reports of one suspected violation by one operator
    (`rules.report_key`, sealed: it holds the reporter's phone or identity
    number), and the case handling them (Order 121 art. 35)."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return derive_id("enforcement", "reports", key)

    @event("Started")
    def __init__(self, key: str, case_id: UUID, facts: str):
        self.key = key
        self.case_id = case_id
        self.facts = [facts]

    def tells_more(self, facts: str) -> bool:
        """Whether a report brings facts none of the thread's reports told."""
        return facts not in self.facts

    @event("Followed")
    def follow(self, facts: str, case_id: UUID | None = None) -> None:
        """A further report: its facts, and the case now handling the thread when
        the one before had ended."""
        if facts not in self.facts:
            self.facts = [*self.facts, facts]
        if case_id is not None:
            self.case_id = case_id
