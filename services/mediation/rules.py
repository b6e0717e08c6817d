"""Mediation rules: who the parties are, how a case may end, and the time
limit that appraisal pauses. The numbers and grounds come from the case's
rulebook (services/routing/rulebook.py: SAIC-62 60 days, SAMR-20 45 working
days, SAMR-121 60 days by its art. 45), kept on the case when it opens, so a
change of setting never moves an open case's deadline. Pure functions; the
aggregate decides with them.

How the limit is counted (one rule, used for the due date shown, for case work
and for the timer): the acceptance day is not counted; each following China day
counts (SAMR-20: each working day); an appraisal's time is left out as a
period of its own, counted the same way: the day it began counts, each day
after it up to and including the day of its result does not. An appraisal of N
days (start to result, on the China calendar) moves the limit by N days, as
the contract's "acceptance + 60 days + appraisal time" says; one begun and
finished on the same day moves it by none, a part-day not being divisible on
a calendar of days; a limit in days whose last day is a rest day
ends on the next working day; the limit ends at 24:00 China time of its last
day. Work dated at or before that instant is in time; the timer ends the case
only after it.

A recusal request under SAMR-20 (art. 19) and SAMR-121 (art. 21) suspends
mediation until the bureau decides it: no session, appraisal or agreement
meanwhile. The suspension does not stop the clock: the regulations exclude only
appraisal time from the limit (20 art. 20, 121 art. 22), and the bureau, which
decides the request, controls how long the suspension lasts.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from services.checks import text
from services.contract.errors import InvalidField
from services.routing import calendar
from services.routing.rulebook import DAYS, Period

# The default rulebook's limit, for cases opened before the rulebook was recorded.
MEDIATION_DAYS = 60

PARTIES = ("CONSUMER", "RESPONDENT")
# The party asserting the claim advances the cost, unless both agree to share it.
PAYERS = ("CLAIMANT", "SHARED", "CONSUMER", "RESPONDENT")
# The parties agree on the appraisal body; under SAMR-121 (art. 22) the bureau
# may designate one when they cannot.
BODY_CHOICES = ("PARTIES_AGREED", "BUREAU_DESIGNATED")
# WRITTEN: a mediation document (调解书). ORAL: both parties waived the document
# and the mediator keeps a record instead.
FORMS = ("WRITTEN", "ORAL")
TERMINATION_REASONS = (
    "WITHDRAWN", "PARTY_REFUSED", "PARTY_ABSENT", "LITIGATION_OR_ARBITRATION",
    "SELF_SETTLED", "TIME_LIMIT_EXCEEDED", "OTHER",
)
SUSPENDED = "SUSPENDED"

AWAITING_CONSENT = "AWAITING_CONSENT"
OPEN = "OPEN"
SCHEDULED = "SCHEDULED"
IN_APPRAISAL = "IN_APPRAISAL"
AGREED = "AGREED"
TERMINATED = "TERMINATED"
FINAL_STATES = (AGREED, TERMINATED)


def names(values: object, name: str) -> list[str]:
    """A mediation panel: at least one person, each named once."""
    if not isinstance(values, (list, tuple)) or not values:
        raise InvalidField(name, f"{name} must be a non-empty list of names")
    cleaned = [text(v, name) for v in values]
    if len(set(cleaned)) != len(cleaned):
        raise InvalidField(name, f"{name} names someone twice")
    return cleaned


def days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("mediation_days must be a positive whole number")
    return value


def appraisal_time(appraisals: list[dict]) -> timedelta:
    """Time spent on finished appraisals: it does not count towards the limit."""
    return sum(
        (a["completed_at"] - a["started_at"] for a in appraisals if a["completed_at"] is not None),
        timedelta(0),
    )


# How an appraisal's days are taken out of the limit: after the day it began, up
# to the day of its result (see above); or, for one stored before that rule,
# every day it touched, the day it began included.
AFTER_ITS_FIRST_DAY, EVERY_DAY_TOUCHED = "AFTER_ITS_FIRST_DAY", "EVERY_DAY_TOUCHED"


def paused_days(appraisals: list[dict], now: datetime | None = None) -> frozenset[date]:
    """The China days appraisals take out of the limit; a running one's up to
    `now` (or, with no `now`, none)."""
    days: set[date] = set()
    for appraisal in appraisals:
        end = appraisal["completed_at"] or now
        if end is None:
            continue
        began, result = calendar.china_date(appraisal["started_at"]), calendar.china_date(end)
        first = 0 if appraisal.get("days_paused") == EVERY_DAY_TOUCHED else 1
        days |= {began + timedelta(days=n) for n in range(first, (result - began).days + 1)}
    return frozenset(days)


def clock_end(accepted_at: datetime, mediation_days: int, appraisals: list[dict], unit: str = DAYS,
              now: datetime | None = None) -> tuple[datetime, bool]:
    """End of the limit (see the module's docstring) and whether it rests on a
    provisional calendar day."""
    return calendar.period_due(accepted_at, Period(mediation_days, unit, ""), paused_days(appraisals, now))


def notice_due(terminated_at: datetime, period: Period | None) -> datetime | None:
    """When the parties must have been told that mediation ended."""
    return None if period is None else calendar.period_due(terminated_at, period)[0]


# Who mediated when: one entry per seat on the panel, closed when its holder
# hands over to a new panel, steps aside, or the case ends.

def serving(history: list[dict]) -> list[str]:
    return [seat["mediator"] for seat in history if seat["to_at"] is None]


def seat_panel(history: list[dict], mediators: list[str], at: datetime) -> list[dict]:
    """A new panel: who stays keeps their seat, the others hand over at `at`."""
    staying = [name for name in serving(history) if name in mediators]
    handed_over = close_seats(history, at, "REPLACED", keep=staying)
    joining = [{"mediator": name, "from_at": at, "to_at": None, "ended_by": None, "reason": None,
                "requested_by": None} for name in mediators if name not in staying]
    return handed_over + joining


def close_seats(history: list[dict], at: datetime, ended_by: str, keep: list[str] | tuple[str, ...] = (),
                **why: object) -> list[dict]:
    return [{**seat, "to_at": at, "ended_by": ended_by, **why}
            if seat["to_at"] is None and seat["mediator"] not in keep else seat for seat in history]


def public_view(public: dict | None) -> dict:
    """The complaint as the public feed may show it: never the consumer's data."""
    public = public or {}
    if not isinstance(public, dict):
        raise ValueError("public must be a mapping")
    respondent = public.get("respondent") or {}
    return {"respondent": {"name": respondent.get("name"), "uscc": respondent.get("uscc")},
            "subject_area": public.get("subject_area"), "city_adcode": public.get("city_adcode"),
            "received_at": public.get("received_at")}


def oral_consent(form: str, parties, performed_at_once: bool = False) -> list[str]:
    """The parties who agreed to do without a mediation document. Only an ORAL
    agreement has them, and it needs both: a mediator's record stands in for
    the document only when neither party wants one (Order 20 art. 22, Order 121
    art. 24; Order 62 likewise), or, under Orders 20 and 121, when the agreement
    was performed on the spot (`performed_at_once`, checked by the caller).
    Not named (None), an ORAL agreement not performed at once is the
    mediator's record that both parties agreed: the form says as much."""
    if parties is None:
        return list(PARTIES) if form == "ORAL" and not performed_at_once else []
    if isinstance(parties, str) or not all(isinstance(p, str) for p in parties):
        raise InvalidField("oral_consent", "oral_consent must be a list of parties (CONSUMER, RESPONDENT)")
    given = sorted(set(parties))
    if unknown := [p for p in given if p not in PARTIES]:
        raise InvalidField("oral_consent", f"oral_consent: {', '.join(unknown)} is not a party (CONSUMER, RESPONDENT)")
    if form != "ORAL":
        if given:
            raise InvalidField("oral_consent",
                               "oral_consent is for an ORAL agreement; a WRITTEN one is signed in its document")
        return []
    if performed_at_once:
        return [p for p in PARTIES if p in given]
    if missing := [p for p in PARTIES if p not in given]:
        raise InvalidField("oral_consent",
                           f"oral_consent: an ORAL agreement needs both parties' consent to do without a mediation "
                           f"document; missing {', '.join(missing)}")
    return list(PARTIES)


def represented_consent(needed: list[str], given, action: str) -> list[str]:
    """The represented consumers of a joint complaint who consented to what
    their representatives did; all of them, or it is refused: a representative's
    acts bind the others, but giving up the complaint or agreeing in mediation
    only with their consent (Order 20 art. 11, Order 121 art. 12, Order 62 art. 14).
    A complaint of one consumer needs none."""
    if isinstance(given, str) or not all(isinstance(name, str) for name in given):
        raise InvalidField("represented_consent",
                           "represented_consent must be a list of the represented consumers' names")
    given = list(dict.fromkeys(name.strip() for name in given))
    if unknown := [name for name in given if name not in needed]:
        raise InvalidField("represented_consent",
                           f"represented_consent: {', '.join(unknown)} is not a represented consumer of this "
                           f"complaint ({', '.join(needed) or 'it has none'})")
    if missing := [name for name in needed if name not in given]:
        raise InvalidField("represented_consent",
                           f"represented_consent: {action} by the representatives of a joint complaint binds the "
                           f"consumers they represent only with their consent; missing {', '.join(missing)}")
    return [name for name in needed if name in given]
