"""The mediation case of one accepted complaint: consent, sessions, mediators,
appraisal, and how it ends (agreement or termination) within the time limit.

Each public command checks the rules first and only then triggers its events,
through a private method whose body just records the change. So a refused
command leaves nothing behind, a consent refusal can record two events in one
command, and replaying history never re-judges old decisions by today's rules.
A bureau mediates civil disputes only: nothing here punishes; a violation seen
during mediation is reported to enforcement by the application."""
from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services import checks
from services.contract.errors import InvalidField
from services.ids import derive_id
from services.routing import rulebook as rulebooks

from . import rules
from .rules import AGREED, AWAITING_CONSENT, IN_APPRAISAL, OPEN, SCHEDULED, SUSPENDED, TERMINATED


class IllegalTransition(Exception):
    """A command the case's current state does not allow."""

    def __init__(self, current_state: str, message: str):
        super().__init__(f"{message} (the mediation case is {current_state})")
        self.current_state = current_state


class MediationCase(Aggregate):
    @staticmethod
    def create_id(complaint_id: str) -> UUID:
        return derive_id("mediation", complaint_id)

    @event("Opened")
    def __init__(self, complaint_id: str, agency_id: str, accepted_at: datetime,
                 mediation_days: int = rules.MEDIATION_DAYS, public: dict | None = None,
                 by_agency: str | None = None, by_role: str | None = None,
                 mediation_unit: str = rulebooks.DAYS, rulebook: str | None = None,
                 represented: list[str] | None = None, announced_due: datetime | None = None,
                 announced_provisional: bool | None = None):
        """`public`: what the public status feed may show about the complaint;
        only the respondent's name and credit code, subject area and city are kept.
        `rulebook`: the complaint's, from its acceptance (None: opened before
        it was recorded, under the default). `represented`: of a joint
        complaint, the consumers who do not act themselves, whose consent a
        withdrawal or an agreement needs. `announced_due`, `announced_provisional`:
        the limit as the parties and the status were told it when the case
        opened; kept in the event, since the calendar it was counted on may
        gain a year's holiday notice later (None: opened before it was kept)."""
        self.complaint_id = checks.text(complaint_id, "complaint_id")
        self.agency_id = checks.text(agency_id, "agency_id")
        self.accepted_at = checks.utc(accepted_at, "accepted_at")
        self.mediation_days = rules.days(mediation_days)
        self.mediation_unit = checks.one_of(mediation_unit, (rulebooks.DAYS, rulebooks.WORKING_DAYS), "mediation_unit")
        self.rulebook = rulebooks.named(rulebook).name
        self.recusal_request: dict | None = None
        self.notice: dict | None = None
        self.public = rules.public_view(public)
        self.represented = list(represented or [])
        self.announced = None if announced_due is None else {"due": announced_due,
                                                             "provisional": bool(announced_provisional)}
        self.consents: dict[str, dict] = {}
        self.sessions: list[dict] = []
        self.mediators: list[dict] = []
        self.appraisals: list[dict] = []
        self.agreement: dict | None = None
        self.termination: dict | None = None

    # -- what a case worker or a timer asks for -------------------------------

    def record_consent(self, party: str, agreed: bool, at: datetime, *,
                       by_agency: str | None = None, by_role: str | None = None) -> None:
        checks.one_of(party, rules.PARTIES, "party")
        if not isinstance(agreed, bool):
            raise InvalidField("agreed", "agreed must be true or false")
        at = self._when(at)
        self._require_live("record consent")
        if agreed and self.consents.get(party, {}).get("agreed"):
            raise IllegalTransition(self.status, f"{party} has already agreed to mediate")
        if agreed:
            self._require_not_suspended("record consent")
            self._require_time_left("record consent", at)
        who = {"by_agency": by_agency, "by_role": by_role}
        self._consent_recorded(party=party, agreed=agreed, at=at, **who)
        if not agreed:
            # A refusal ends mediation at once: there is nothing left to organise.
            self._terminated(reason="PARTY_REFUSED", at=at, text=None, **who,
                             notice_due=rules.notice_due(at, self.book.termination_notice))

    def schedule(self, session_at: datetime, place: str, mediators: list[str], at: datetime, *,
                 by_agency: str | None = None, by_role: str | None = None) -> None:
        session_at = checks.utc(session_at, "session_at")
        place = checks.text(place, "place")
        mediators = rules.names(mediators, "mediators")
        at = self._when(at)
        self._require_live("schedule a session")
        self._require_not_suspended("schedule a session")
        self._require_consents("schedule a session")
        self._require_time_left("schedule a session", at)
        if session_at < at:
            raise InvalidField("session_at", "a session is scheduled ahead: session_at is before the scheduling (at)")
        due = self.mediation_due
        if due is not None and session_at > due:
            raise IllegalTransition(self.status, f"a session cannot be held after the time limit ({due.isoformat()})")
        recused = [m["mediator"] for m in self.mediators if m["ended_by"] == "RECUSED"]
        if returning := [name for name in mediators if name in recused]:
            # Whoever stepped aside for an interest in the case does not come back to it.
            raise IllegalTransition(self.status, f"{', '.join(returning)} stepped aside from this case")
        self._scheduled(session_at=session_at, place=place, mediators=mediators, at=at,
                        by_agency=by_agency, by_role=by_role)

    def recuse(self, mediator: str, reason: str, at: datetime, *, requested_by: str | None = None,
               by_agency: str | None = None, by_role: str | None = None) -> None:
        """`requested_by` names the party whose request the bureau accepted; None
        means the mediator stepped aside on their own motion."""
        mediator = checks.text(mediator, "mediator")
        reason = checks.text(reason, "reason")
        if requested_by is not None:
            checks.one_of(requested_by, rules.PARTIES, "requested_by")
        at = self._when(at)
        self._require_live("recuse a mediator")
        if mediator not in self.panel:
            raise IllegalTransition(self.status, f"{mediator} is not on the panel ({', '.join(self.panel) or 'empty'})")
        if at < self._seat(mediator)["from_at"]:
            raise InvalidField("at", "a mediator cannot step aside before joining the panel")
        self._mediator_recused(mediator=mediator, reason=reason, requested_by=requested_by, at=at,
                               by_agency=by_agency, by_role=by_role)

    def request_recusal(self, mediator: str, party: str, reason: str, at: datetime, *,
                        by_agency: str | None = None, by_role: str | None = None) -> None:
        """A party asks that a mediator step aside. Under SAMR-20 and SAMR-121
        mediation is suspended until the bureau decides (`decide_recusal`)."""
        mediator = checks.text(mediator, "mediator")
        checks.one_of(party, rules.PARTIES, "party")
        reason = checks.text(reason, "reason")
        at = self._when(at)
        self._require_live("request a recusal")
        if self.recusal_request is not None:
            raise IllegalTransition(self.status, "a recusal request is already waiting for the bureau's decision")
        if mediator not in self.panel:
            raise IllegalTransition(self.status, f"{mediator} is not on the panel ({', '.join(self.panel) or 'empty'})")
        self._recusal_requested(mediator=mediator, party=party, reason=reason, at=at,
                                suspends=self.book.recusal_request_suspends, by_agency=by_agency, by_role=by_role)

    def decide_recusal(self, granted: bool, at: datetime, *, by_agency: str | None = None,
                       by_role: str | None = None) -> None:
        if not isinstance(granted, bool):
            raise InvalidField("granted", "granted must be true or false")
        at = self._when(at)
        self._require_live("decide a recusal request")
        request = self.recusal_request
        if request is None:
            raise IllegalTransition(self.status, "no recusal request is waiting for a decision")
        if at < request["at"]:
            raise InvalidField("at", "a recusal request cannot be decided before it was made")
        if granted:
            self._mediator_recused(mediator=request["mediator"], reason=request["reason"],
                                   requested_by=request["party"], at=at, by_agency=by_agency, by_role=by_role)
        else:
            self._recusal_refused(mediator=request["mediator"], at=at, by_agency=by_agency, by_role=by_role)

    def start_appraisal(self, body: str, payer: str, at: datetime, *,
                        by_agency: str | None = None, by_role: str | None = None,
                        body_chosen_by: str = "PARTIES_AGREED") -> None:
        body = checks.text(body, "body")
        checks.one_of(payer, rules.PAYERS, "payer")
        checks.one_of(body_chosen_by, rules.BODY_CHOICES, "body_chosen_by")
        if body_chosen_by == "BUREAU_DESIGNATED" and self.rulebook != "SAMR-121":
            raise InvalidField("body_chosen_by", f"under {self.rulebook} the parties agree on the appraisal body; "
                             "only SAMR-121 (art. 22) lets the bureau designate one")
        at = self._when(at)
        self._require_live("start an appraisal")
        self._require_not_suspended("start an appraisal")
        self._require_consents("start an appraisal")
        if self.is_paused:
            raise IllegalTransition(self.status, "an appraisal is already in progress")
        self._require_time_left("start an appraisal", at)
        finished = [a["completed_at"] for a in self.appraisals]
        if finished and at < max(finished):
            # Overlapping appraisals would pause the same hours twice.
            raise InvalidField("at", "an appraisal cannot start before the previous one finished")
        self._appraisal_started(body=body, payer=payer, at=at, by_agency=by_agency, by_role=by_role,
                                body_chosen_by=body_chosen_by, days_paused=rules.AFTER_ITS_FIRST_DAY)

    def complete_appraisal(self, at: datetime, *, result: str | None = None,
                           by_agency: str | None = None, by_role: str | None = None) -> None:
        result = checks.optional_text(result, "result")
        at = self._when(at)
        self._require_live("complete an appraisal")
        if not self.is_paused:
            raise IllegalTransition(self.status, "no appraisal is in progress")
        if at < self.open_appraisal["started_at"]:
            raise InvalidField("at", "an appraisal cannot finish before it started")
        finished = [{**a, "completed_at": at} if a["completed_at"] is None else a for a in self.appraisals]
        due, provisional = rules.clock_end(self.accepted_at, self.mediation_days, finished,
                                           getattr(self, "mediation_unit", rulebooks.DAYS))
        self._appraisal_completed(at=at, result=result, by_agency=by_agency, by_role=by_role,
                                  announced_due=due, announced_provisional=provisional)

    def agree(self, form: str, terms: str, amount_recovered_fen: int, at: datetime, *,
              by_agency: str | None = None, by_role: str | None = None, oral_consent=None,
              represented_consent=(), performed_at_once: bool = False) -> None:
        """`oral_consent`: the parties who agreed that no mediation document be
        made; an ORAL agreement needs both (Order 20 art. 22, Order 121 art. 24),
        and not named, has both (see rules.oral_consent).
        `represented_consent`: of a joint complaint, the represented consumers
        who consent to the agreement; it needs all of them (art. 11 / art. 12).
        `performed_at_once`: an ORAL agreement carried out on the spot, which
        under Orders 20 and 121 needs no document and so no waiver of one."""
        checks.one_of(form, rules.FORMS, "form")
        terms = checks.text(terms, "terms")
        checks.fen(amount_recovered_fen, "amount_recovered_fen")
        if not isinstance(performed_at_once, bool):
            raise InvalidField("performed_at_once", "performed_at_once must be true or false")
        if performed_at_once and form != "ORAL":
            raise InvalidField("performed_at_once",
                               "performed_at_once is for an ORAL agreement; a WRITTEN one has its document")
        if performed_at_once and not self.book.no_document_when_performed:
            raise InvalidField("performed_at_once",
                               f"performed_at_once: under {self.rulebook} an agreement without a document needs both "
                               "parties' consent (oral_consent); only SAMR-20 and SAMR-121 spare one performed at once")
        at = self._when(at)
        self._require_live("record an agreement")
        self._require_not_suspended("record an agreement")
        self._require_consents("record an agreement")
        # Whose consent it takes only once it may be recorded at all.
        oral_consent = rules.oral_consent(form, oral_consent, performed_at_once)
        represented_consent = rules.represented_consent(self.joint_represented, represented_consent, "an agreement")
        # No check for a running appraisal: parties may settle before its result.
        self._require_time_left("record an agreement", at)
        self._agreed(form=form, terms=terms, amount_recovered_fen=amount_recovered_fen, at=at,
                     by_agency=by_agency, by_role=by_role, oral_consent=oral_consent,
                     represented_consent=represented_consent,
                     **({"performed_at_once": True} if performed_at_once else {}))

    def terminate(self, reason: str, at: datetime, text: str | None = None, *,
                  by_agency: str | None = None, by_role: str | None = None, represented_consent=(),
                  before_opening: bool = False) -> None:
        """`represented_consent`: of a joint complaint its representatives
        withdraw or settle with the respondent themselves, the represented
        consumers who consent; giving up the request or settling it binds them
        only with their consent, so it needs all of them (Order 62 art. 14,
        Order 20 art. 11, Order 121 art. 12). Not asked for other grounds."""
        checks.one_of(reason, tuple(self.book.termination_grounds), f"reason (under {self.rulebook})")
        text = checks.optional_text(text, "text")
        if reason == "OTHER" and text is None:
            raise InvalidField("text", "termination for OTHER reasons needs a text saying which")
        at = self._when(at)
        self._require_live("terminate")
        binding = {"WITHDRAWN": "a withdrawal", "SELF_SETTLED": "a settlement"}.get(reason)
        represented_consent = (rules.represented_consent(self.joint_represented, represented_consent, binding)
                               if binding else [])
        if reason == "TIME_LIMIT_EXCEEDED":
            if self.is_paused:
                raise IllegalTransition(self.status, "the time limit is paused while an appraisal is in progress")
            if at <= self.mediation_due:
                raise IllegalTransition(self.status, f"the time limit runs until {self.mediation_due.isoformat()}")
        self._terminated(reason=reason, at=at, text=text, by_agency=by_agency, by_role=by_role,
                         notice_due=rules.notice_due(at, self.book.termination_notice),
                         **({"represented_consent": represented_consent} if represented_consent else {}),
                         before_opening=bool(before_opening and reason == "WITHDRAWN"))

    def notify_termination(self, at: datetime, *, by_agency: str | None = None, by_role: str | None = None) -> None:
        """The parties were told that mediation ended (SAMR-20 art. 21, SAMR-121 art. 23)."""
        at = self._when(at)
        if self.termination is None:
            raise IllegalTransition(self.status, "mediation has not been terminated")
        if self.notice is not None:
            raise IllegalTransition(self.status, "the parties were already told")
        if at < self.termination["at"]:
            raise InvalidField("at", "the parties cannot be told before the termination")
        due = self.termination.get("notice_due")
        self._termination_notified(at=at, late=due is not None and at > due, by_agency=by_agency, by_role=by_role)

    @property
    def notice_limit(self) -> datetime | None:
        """When a termination notice not yet given becomes late; None when
        none is owed, it was given, or its lateness is flagged already."""
        due = (self.termination or {}).get("notice_due")
        if due is None or self.notice is not None or self.termination.get("notice_overdue"):
            return None
        return due

    def flag_late_notice(self, now: datetime) -> bool:
        """For the timer: flag a termination notice not given by its due time."""
        now = checks.utc(now, "now")
        due = self.notice_limit
        if due is None or now <= due:
            return False
        self._termination_notice_overdue(at=now)
        return True

    def expire_if_due(self, now: datetime, *, by_agency: str | None = None,
                      by_role: str | None = None) -> bool:
        """For the timer: terminate with TIME_LIMIT_EXCEEDED when the limit has
        passed at `now`; say whether it did."""
        now = checks.utc(now, "now")
        if self.is_final or self.is_paused or now <= self.mediation_due:
            return False
        self.terminate("TIME_LIMIT_EXCEEDED", now, by_agency=by_agency, by_role=by_role)
        return True

    def recompute_due(self, now: datetime) -> bool:
        """For the timer: once a holiday notice for a year the limit depends on
        is loaded, the limit counted again differs from the one announced (or is
        no longer provisional); announce the new one, and say whether it did."""
        now = checks.utc(now, "now")
        announced = getattr(self, "announced", None)
        if self.is_final or self.is_paused or announced is None:
            return False
        due, provisional = self._limit()
        if (due, provisional) == (announced["due"], announced["provisional"]):
            return False
        self._due_recomputed(mediation_due=due, provisional=provisional, at=now)
        return True

    def reassign(self, agency_id: str, at: datetime) -> bool:
        """The complaint moved to another bureau (escalation, a decided dispute):
        the case moves with it while it is still open."""
        agency_id = checks.text(agency_id, "agency_id")
        if self.is_final or agency_id == self.agency_id:
            return False
        self._reassigned(agency_id=agency_id, at=checks.utc(at, "at"))
        return True

    # -- what the case looks like ---------------------------------------------

    @property
    def status(self) -> str:
        """AWAITING_CONSENT until both parties agree to mediate; then OPEN until a
        session is set with a panel, SCHEDULED after; IN_APPRAISAL while an
        appraisal runs; AGREED and TERMINATED are final."""
        if self.termination is not None:
            return TERMINATED
        if self.agreement is not None:
            return AGREED
        if self.is_suspended:
            return SUSPENDED
        if self.is_paused:
            return IN_APPRAISAL
        if not self.both_consented:
            return AWAITING_CONSENT
        return SCHEDULED if self.panel else OPEN

    @property
    def joint_represented(self) -> list[str]:
        """Cases opened before joint complaints were recorded had none."""
        return getattr(self, "represented", None) or []

    @property
    def book(self) -> rulebooks.Rulebook:
        return rulebooks.named(getattr(self, "rulebook", None))

    @property
    def is_suspended(self) -> bool:
        request = getattr(self, "recusal_request", None)
        return request is not None and request["suspends"]

    @property
    def is_final(self) -> bool:
        return self.termination is not None or self.agreement is not None

    @property
    def both_consented(self) -> bool:
        return all(self.consents.get(p, {}).get("agreed") for p in rules.PARTIES)

    @property
    def panel(self) -> list[str]:
        """The mediators serving now."""
        return rules.serving(self.mediators)

    @property
    def open_appraisal(self) -> dict | None:
        return next((a for a in self.appraisals if a["completed_at"] is None), None)

    @property
    def is_paused(self) -> bool:
        """An appraisal is in progress: the clock stands still until its result."""
        return self.open_appraisal is not None

    @property
    def appraisal_time(self) -> timedelta:
        return rules.appraisal_time(self.appraisals)

    @property
    def mediation_due(self) -> datetime | None:
        """End of the limit counted as rules.py says; None while an appraisal
        is in progress, since its end is not yet known."""
        if self.is_paused:
            return None
        return self._limit()[0]

    @property
    def provisional_due(self) -> bool:
        """The due date rests on a day of a year whose holiday notice is not loaded."""
        return self._limit()[1]

    def due_at(self, now: datetime) -> datetime:
        """The due date as it stands at `now`: `mediation_due` when the clock
        runs; while paused, the due date the case would have if the appraisal's
        result came in at `now`, so it moves forward as the appraisal goes on
        and is never later than the real one."""
        return self._limit(checks.utc(now, "now"))[0]

    def _limit(self, now: datetime | None = None) -> tuple[datetime, bool]:
        return rules.clock_end(self.accepted_at, self.mediation_days, self.appraisals,
                               getattr(self, "mediation_unit", rulebooks.DAYS), now)

    # -- guards -----------------------------------------------------------------

    def _when(self, at: datetime) -> datetime:
        at = checks.utc(at, "at")
        if at < self.accepted_at:
            raise InvalidField("at", "at is before the complaint was accepted")
        return at

    def _require_live(self, action: str) -> None:
        if self.is_final:
            raise IllegalTransition(self.status, f"cannot {action}: mediation has ended")

    def _require_consents(self, action: str) -> None:
        if not self.both_consented:
            raise IllegalTransition(self.status, f"cannot {action} before both parties agree to mediate")

    def _require_not_suspended(self, action: str) -> None:
        if self.is_suspended:
            raise IllegalTransition(self.status, f"cannot {action}: mediation is suspended until the bureau "
                                                 "decides the recusal request")

    def _require_time_left(self, action: str, at: datetime) -> None:
        due = self.mediation_due
        if due is not None and at > due:
            raise IllegalTransition(self.status, f"cannot {action}: the time limit passed at {due.isoformat()}")

    def _seat(self, mediator: str) -> dict:
        return next(m for m in self.mediators if m["mediator"] == mediator and m["to_at"] is None)

    # -- events: their bodies only record what was decided ----------------------

    @event("Reassigned")
    def _reassigned(self, agency_id: str, at: datetime) -> None:
        self.agency_id = agency_id

    @event("ConsentRecorded")
    def _consent_recorded(self, party: str, agreed: bool, at: datetime,
                          by_agency: str | None, by_role: str | None) -> None:
        self.consents = {**self.consents, party: {"agreed": agreed, "at": at}}

    @event("Scheduled")
    def _scheduled(self, session_at: datetime, place: str, mediators: list[str], at: datetime,
                   by_agency: str | None, by_role: str | None) -> None:
        self.sessions = [*self.sessions, {"session_at": session_at, "place": place,
                                          "mediators": list(mediators), "scheduled_at": at}]
        self.mediators = rules.seat_panel(self.mediators, mediators, at)

    @event("MediatorRecused")
    def _mediator_recused(self, mediator: str, reason: str, requested_by: str | None, at: datetime,
                          by_agency: str | None, by_role: str | None) -> None:
        others = [name for name in self.panel if name != mediator]
        self.mediators = rules.close_seats(self.mediators, at, "RECUSED", keep=others,
                                           reason=reason, requested_by=requested_by)
        self.recusal_request = None

    @event("RecusalRequested")
    def _recusal_requested(self, mediator: str, party: str, reason: str, at: datetime, suspends: bool,
                           by_agency: str | None, by_role: str | None) -> None:
        self.recusal_request = {"mediator": mediator, "party": party, "reason": reason, "at": at,
                                "suspends": suspends}

    @event("RecusalRefused")
    def _recusal_refused(self, mediator: str, at: datetime, by_agency: str | None, by_role: str | None) -> None:
        self.recusal_request = None

    @event("TerminationNotified")
    def _termination_notified(self, at: datetime, late: bool, by_agency: str | None, by_role: str | None) -> None:
        self.notice = {"at": at, "late": late}

    @event("TerminationNoticeOverdue")
    def _termination_notice_overdue(self, at: datetime) -> None:
        self.termination = {**self.termination, "notice_overdue": True}

    @event("AppraisalStarted")
    def _appraisal_started(self, body: str, payer: str, at: datetime,
                           by_agency: str | None, by_role: str | None, body_chosen_by: str | None = None,
                           days_paused: str = rules.EVERY_DAY_TOUCHED) -> None:
        # An appraisal stored before its days were counted as a period of their
        # own keeps pausing every day it touched: the due dates told stay true.
        self.appraisals = [*self.appraisals, {"body": body, "payer": payer, "started_at": at,
                                              "completed_at": None, "result": None, "body_chosen_by": body_chosen_by,
                                              **({} if days_paused == rules.AFTER_ITS_FIRST_DAY
                                                 else {"days_paused": days_paused})}]

    @event("AppraisalCompleted")
    def _appraisal_completed(self, at: datetime, result: str | None,
                             by_agency: str | None, by_role: str | None, announced_due: datetime | None = None,
                             announced_provisional: bool | None = None) -> None:
        self.appraisals = [{**a, "completed_at": at, "result": result} if a["completed_at"] is None else a
                           for a in self.appraisals]
        self.announced = None if announced_due is None else {"due": announced_due,
                                                             "provisional": bool(announced_provisional)}

    @event("DueRecomputed")
    def _due_recomputed(self, mediation_due: datetime, provisional: bool, at: datetime) -> None:
        self.announced = {"due": mediation_due, "provisional": provisional}

    @event("Agreed")
    def _agreed(self, form: str, terms: str, amount_recovered_fen: int, at: datetime,
                by_agency: str | None, by_role: str | None, oral_consent: list[str] | None = None,
                represented_consent: list[str] | None = None, performed_at_once: bool = False) -> None:
        self.agreement = {"form": form, "terms": terms, "amount_recovered_fen": amount_recovered_fen, "at": at}
        if performed_at_once:
            self.agreement["performed_at_once"] = True
        if oral_consent:
            self.agreement["oral_consent"] = list(oral_consent)
        if represented_consent:
            self.agreement["represented_consent"] = list(represented_consent)
        self.mediators = rules.close_seats(self.mediators, at, AGREED)

    @event("Terminated")
    def _terminated(self, reason: str, at: datetime, text: str | None,
                    by_agency: str | None, by_role: str | None, notice_due: datetime | None = None,
                    represented_consent: list[str] | None = None, before_opening: bool | None = None) -> None:
        # before_opening: a withdrawal made before the case opened (None: stored before it was said).
        self.termination = {"reason": reason, "at": at, "text": text, "notice_due": notice_due}
        if before_opening:
            self.termination["before_opening"] = True
        if represented_consent:
            self.termination["represented_consent"] = list(represented_consent)
        self.mediators = rules.close_seats(self.mediators, at, TERMINATED)
