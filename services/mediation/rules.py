"""Mediation rules of the default rulebook (SAIC Order No. 62; seed Q&A 8 and 9):
who the parties are, how a case may end, and the 60-day clock that appraisal
pauses. Pure functions; the aggregate decides with them."""
from __future__ import annotations

from datetime import datetime, timedelta

from services.checks import fen, one_of, optional_text, text, utc  # noqa: F401

# Calendar days from acceptance within which mediation must end. Stored on each
# case when it opens, so changing the rulebook never moves an open case's deadline.
MEDIATION_DAYS = 60

PARTIES = ("CONSUMER", "RESPONDENT")
# The party asserting the claim advances the cost, unless both agree to share it.
PAYERS = ("CLAIMANT", "SHARED")
# WRITTEN: a mediation document (调解书). ORAL: both parties waived the document
# and the mediator keeps a record instead.
FORMS = ("WRITTEN", "ORAL")
TERMINATION_REASONS = (
    "WITHDRAWN", "PARTY_REFUSED", "PARTY_ABSENT", "LITIGATION_OR_ARBITRATION",
    "SELF_SETTLED", "TIME_LIMIT_EXCEEDED", "OTHER",
)

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
        raise ValueError(f"{name} must be a non-empty list of names")
    cleaned = [text(v, name) for v in values]
    if len(set(cleaned)) != len(cleaned):
        raise ValueError(f"{name} names someone twice")
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


def clock_end(accepted_at: datetime, mediation_days: int, appraisals: list[dict]) -> datetime:
    # Elapsed time, not wall-clock dates: China Standard Time has no daylight
    # saving, so N x 24 hours lands on the same Beijing clock time N days later.
    return accepted_at + timedelta(days=mediation_days) + appraisal_time(appraisals)


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
            "subject_area": public.get("subject_area"), "city_adcode": public.get("city_adcode")}
