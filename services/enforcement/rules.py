"""Enforcement rules (complaint to case, 诉转案): the stages of a penalty case,
its time limits, and the threshold at which complaints become a lead.
Pure values and functions; the aggregates decide with them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.checks import optional_text, text
from services.contract.errors import InvalidField
from services.contract.operators import normalise_name, person_key
from services.routing import calendar
from services.routing.rulebook import DAYS, WORKING_DAYS, Period

ORIGINS = ("COMPLAINT", "REPORT", "PATTERN")

# The administrative-penalty procedure, in order. DECLINED and CLOSED are final.
LEAD = "LEAD"                    # lead received, filing not yet decided
FILED = "FILED"                  # 立案
INVESTIGATING = "INVESTIGATING"  # 调查取证
DECIDED = "DECIDED"              # 处理决定: a penalty, or no penalty
CLOSED = "CLOSED"                # 结案
DECLINED = "DECLINED"            # 不予立案
FINAL_STATES = (CLOSED, DECLINED)

# Names of the time limits `PenaltyCase.overdue` reports.
FILING = "FILING"
CONCLUSION = "CONCLUSION"

# Periods counted as legal periods (Civil Code arts. 200-204): the day of the
# act not counted, ending at 24:00 China time of the last day, a last day on a
# rest day moved to the next working day (services/routing/calendar.py).
# 市场监督管理行政处罚程序规定: a lead is checked and filing decided within 15
# working days of its receipt (art. 18); a case filed is decided within 90
# days (art. 64).
FILING_DAYS = 15       # from the lead received to the decision whether to file ...
FILING_UNIT = WORKING_DAYS  # ... in working days; leads opened before this was kept count calendar days
CONCLUSION_DAYS = 90   # from filing to the decision on the case (penalty or no penalty)
PATTERN_THRESHOLD = 5  # complaints against one operator about one kind of violation ...
PATTERN_WINDOW_DAYS = 30  # ... within this many days make a lead


@dataclass(frozen=True)
class Limits:
    """The configurable numbers. Each case and each pattern decision keeps the
    numbers it was made with, so changing them never moves an open
    case's deadline nor re-judges a past decision."""

    filing_days: int = FILING_DAYS
    filing_unit: str = FILING_UNIT
    conclusion_days: int = CONCLUSION_DAYS
    pattern_threshold: int = PATTERN_THRESHOLD
    pattern_window_days: int = PATTERN_WINDOW_DAYS

    def __post_init__(self) -> None:
        for name in ("filing_days", "conclusion_days", "pattern_threshold", "pattern_window_days"):
            positive(getattr(self, name), name)
        unit(self.filing_unit, "filing_unit")

    def case_limits(self) -> dict[str, int]:
        """Keyword arguments for opening a `PenaltyCase`."""
        return {"filing_days": self.filing_days, "filing_unit": self.filing_unit,
                "conclusion_days": self.conclusion_days}

    def pattern_limits(self) -> dict[str, int]:
        """Keyword arguments for `PatternWatch.observe`."""
        return {"threshold": self.pattern_threshold, "window_days": self.pattern_window_days}


def due(start: datetime, days: int, in_unit: str = DAYS) -> datetime:
    return calendar.period_due(start, Period(days, in_unit, ""))[0]


def unit(value: str, field: str) -> str:
    if value not in (DAYS, WORKING_DAYS):
        raise InvalidField(field, f"{field} must be {DAYS} or {WORKING_DAYS}, not {value!r}")
    return value


# A lead found in mediation is checked within 15 working days, extended once by
# 15 more with the approval of the bureau's head (SAMR-20 art. 23, SAMR-121
# art. 27); only those rulebooks give a lead a check period, and both the same.
CHECK_EXTENSION = Period(15, WORKING_DAYS, "SAMR-20 第二十三条, SAMR-121 第二十七条, 市场监督管理行政处罚程序规定第十八条")


def extended_check_due(check_due: datetime) -> tuple[datetime, bool]:
    """The check period's new end: 15 working days after its old last day;
    provisional when a day of a year whose holiday notice is not loaded counts."""
    return calendar.period_due(check_due, CHECK_EXTENSION)


# -- checks on what a command is given ----------------------------------------------


def positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive whole number")
    return value


def flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def complaint_ids(values: object) -> list[str]:
    """At least one complaint; a repeated id is the same complaint and kept once."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError("complaint_ids must be a non-empty list")
    return list(dict.fromkeys(text(v, "complaint_ids") for v in values))


def respondent(value: object) -> dict:
    """The operator as the case names it: a name, and the unified social credit
    code where known (intake has checked its checksum)."""
    if not isinstance(value, dict):
        raise ValueError("respondent must be a mapping with a name")
    uscc = optional_text(value.get("uscc") or None, "respondent.uscc")
    return {"name": text(value.get("name"), "respondent.name"), "uscc": uscc and uscc.upper()}


# -- who the operator is -----------------------------------------------------------

def operator_key(operator: dict) -> str:
    """The unified social credit code where known, else the normalised name.
    A complaint naming the operator without its code therefore counts apart
    from one that gives the code, unless intake resolved the code."""
    known = respondent(operator)
    return f"USCC:{known['uscc']}" if known["uscc"] else f"NAME:{normalise_name(known['name'])}"


def report_key(report: dict) -> str | None:
    """One reporter's report of one suspected violation by one operator
    (Order 121 art. 35): the reporter by identity number, else phone; the
    operator as patterns count it. None when either cannot be told."""
    who = person_key(report.get("consumer") or {})
    respondent = report.get("respondent") or {}
    try:
        operator = operator_key({"name": respondent.get("name") or "", "uscc": respondent.get("uscc")})
    except ValueError:
        return None
    return f"{who}|{operator}|{report.get('alleged_violation')}" if who else None


def facts_of(report: dict) -> str:
    """A report's facts as compared with another's: the same words, whatever the spacing."""
    return "".join(str(report.get("facts") or "").split())
