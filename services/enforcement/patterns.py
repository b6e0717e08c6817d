"""Pattern leads (complaint to case, 诉转案): many complaints against one operator
about one kind of violation are themselves a lead.

One `PatternWatch` per operator and violation type records every complaint it
is shown and what it decided, so the decision is made once and survives
restarts: a redelivered complaint changes nothing, and replaying the watch never
re-judges an old decision by today's threshold.

- A burst: at least `threshold` complaints not yet in a case whose times fit in
  one window of `window_days` (half-open: complaints exactly `window_days` apart
  are not in the same window). A burst opens ONE case listing its complaints.
- A case's window stays open while complaints keep coming: a complaint less than
  `window_days` after the case's last complaint (or before its first) joins the
  case. So the window ends once `window_days` pass with no complaint; a later
  burst opens a new case. It also ends when the case itself ends (`case_ended`),
  since a closed case can take no more complaints.
- Times are when the complaints happened, not when they arrived, so a late
  delivery is judged where it belongs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services import checks
from services.contract.vocabulary import VIOLATION_TYPES
from services.ids import derive_id
from services.routing.calendar import china_date

from . import rules
from .domainmodel import PenaltyCase

NOTHING = "NOTHING"
OPEN_CASE = "OPEN_CASE"
JOIN_CASE = "JOIN_CASE"


def burst(observations: Iterable[tuple[str, datetime]], threshold: int, window: timedelta) -> list[str]:
    """The complaints of the earliest window holding at least `threshold` of
    them, in time order; an empty list when no window does."""
    ordered = sorted(observations, key=lambda o: (o[1], o[0]))
    for i, (_, start) in enumerate(ordered):
        inside = [complaint_id for complaint_id, at in ordered[i:] if at - start < window]
        if len(inside) >= threshold:
            return inside
    return []


def joins(at: datetime, times: list[datetime], window: timedelta) -> bool:
    """Whether a complaint at `at` falls within the window of a case's complaints."""
    return min(times) - window < at < max(times) + window


@dataclass(frozen=True)
class PatternDecision:
    """What the application does: NOTHING; OPEN_CASE (a `PenaltyCase` of origin
    PATTERN with `source_key`, whose id is `case_id`, then `case_opened`);
    JOIN_CASE (link `complaint_ids[0]` to the case `case_id`)."""

    action: str
    case_id: UUID | None = None
    complaint_ids: tuple[str, ...] = ()
    source_key: str | None = None
    agency_id: str | None = None
    evidence: str | None = None


class PatternWatch(Aggregate):
    @staticmethod
    def create_id(operator_key: str, violation_type: str) -> UUID:
        return derive_id("enforcement", "pattern", operator_key, violation_type)

    @event("Started")
    def __init__(self, operator_key: str, violation_type: str, respondent: dict):
        self.operator_key = checks.text(operator_key, "operator_key")
        self.violation_type = checks.one_of(violation_type, VIOLATION_TYPES, "violation_type")
        self.respondent = rules.respondent(respondent)
        self.complaints: dict[str, dict] = {}
        self.cases: list[dict] = []

    def observe(self, complaint_id: str, occurred_at: datetime, agency_id: str | None = None, *,
                threshold: int = rules.PATTERN_THRESHOLD,
                window_days: int = rules.PATTERN_WINDOW_DAYS) -> PatternDecision:
        """Record a complaint and say what to do about it. The limits come from
        `Limits.pattern_limits()`; what they decided is stored."""
        complaint_id = checks.text(complaint_id, "complaint_id")
        occurred_at = checks.utc(occurred_at, "occurred_at")
        agency_id = checks.optional_text(agency_id, "agency_id")
        window = timedelta(days=rules.positive(window_days, "window_days"))
        rules.positive(threshold, "threshold")
        if complaint_id in self.complaints:
            return PatternDecision(NOTHING)
        for case in reversed(self.cases):
            if not case["ended"] and joins(occurred_at, self._times(case), window):
                self._observed(complaint_id, occurred_at, agency_id, case["case_id"])
                return PatternDecision(JOIN_CASE, case["case_id"], (complaint_id,), case["source_key"],
                                       case["agency_id"])
        self._observed(complaint_id, occurred_at, agency_id, None)
        unclaimed = [(c, seen["occurred_at"]) for c, seen in self.complaints.items() if seen["case_id"] is None]
        found = burst(unclaimed, threshold, window)
        if not found:
            return PatternDecision(NOTHING)
        start = self.complaints[found[0]]["occurred_at"]
        source_key = f"{self.operator_key}/{self.violation_type}/{start.isoformat()}"
        self._threshold_reached(PenaltyCase.create_id("PATTERN", source_key), source_key, found,
                                self._agency(found), threshold, window_days)
        return self._opening(self.cases[-1])

    def case_opened(self, case_id: UUID | str) -> bool:
        """The application opened the case; say whether this was news."""
        case = self._case(case_id)
        if case["opened"]:
            return False
        self._case_opened(case["case_id"])
        return True

    def case_ended(self, case_id: UUID | str) -> bool:
        """The case was closed or its filing declined: later complaints no longer join it."""
        case = self._case(case_id)
        if case["ended"]:
            return False
        self._case_ended(case["case_id"])
        return True

    @property
    def awaiting(self) -> PatternDecision | None:
        """A case decided on but not yet reported opened: what to finish after a
        crash, if the watch and the case were not saved together."""
        return next((self._opening(c) for c in self.cases if not c["opened"]), None)

    def _opening(self, case: dict) -> PatternDecision:
        times = self._times(case)
        evidence = (f"{len(times)} complaints about {self.violation_type} within {case['window_days']} days, "
                    f"{china_date(min(times)).isoformat()} to {china_date(max(times)).isoformat()}")
        return PatternDecision(OPEN_CASE, case["case_id"], tuple(case["complaint_ids"]), case["source_key"],
                               case["agency_id"], evidence)

    def _times(self, case: dict) -> list[datetime]:
        return [self.complaints[c]["occurred_at"] for c in case["complaint_ids"]]

    def _agency(self, complaint_ids: list[str]) -> str | None:
        """The bureau handling most of the complaints; on a tie, the earliest's."""
        agencies = [a for a in (self.complaints[c]["agency_id"] for c in complaint_ids) if a]
        if not agencies:
            return None
        counts = Counter(agencies)
        return max(agencies, key=lambda a: (counts[a], -agencies.index(a)))

    def _case(self, case_id: UUID | str) -> dict:
        case_id = case_id if isinstance(case_id, UUID) else UUID(str(case_id))
        found = next((c for c in self.cases if c["case_id"] == case_id), None)
        if found is None:
            raise ValueError(f"this watch never called for case {case_id}")
        return found

    @event("Observed")
    def _observed(self, complaint_id: str, occurred_at: datetime, agency_id: str | None,
                  joined_case_id: UUID | None) -> None:
        self.complaints = {**self.complaints, complaint_id: {
            "occurred_at": occurred_at, "agency_id": agency_id, "case_id": joined_case_id}}
        if joined_case_id is not None:
            self.cases = [{**c, "complaint_ids": [*c["complaint_ids"], complaint_id]}
                          if c["case_id"] == joined_case_id else c for c in self.cases]

    @event("ThresholdReached")
    def _threshold_reached(self, case_id: UUID, source_key: str, complaint_ids: list[str],
                           agency_id: str | None, threshold: int, window_days: int) -> None:
        self.complaints = {c: {**seen, "case_id": case_id} if c in complaint_ids else seen
                           for c, seen in self.complaints.items()}
        self.cases = [*self.cases, {"case_id": case_id, "source_key": source_key,
                                    "complaint_ids": list(complaint_ids), "agency_id": agency_id,
                                    "threshold": threshold, "window_days": window_days,
                                    "opened": False, "ended": False}]

    @event("CaseOpened")
    def _case_opened(self, case_id: UUID) -> None:
        self.cases = [{**c, "opened": True} if c["case_id"] == case_id else c for c in self.cases]

    @event("CaseEnded")
    def _case_ended(self, case_id: UUID) -> None:
        self.cases = [{**c, "ended": True} if c["case_id"] == case_id else c for c in self.cases]
