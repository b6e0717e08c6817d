"""The figures: a pure query over request summaries (facts in, table out).

Filters select requests by received date (China Standard Time, inclusive),
by handling agency (an agency and every one below it) and by area (a code
prefix of the handling agency's division); grouping is by any of DIMENSIONS;
every group carries every measure."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable, Mapping

from services.agencies import divisions
from services.agencies.directory import Directory
from services.agencies.ids import AgencyId, adcode_of

from .summary import RequestSummary, summarise

CST = timezone(timedelta(hours=8))


def _cst(summary: RequestSummary) -> datetime:
    return summary.received_at.astimezone(CST)


def _agency_code(summary: RequestSummary) -> str | None:
    return adcode_of(summary.handling_agency_id)


DIMENSIONS: dict[str, Callable[[RequestSummary], str | None]] = {
    "kind": lambda s: s.kind,
    "channel": lambda s: s.channel,
    "status": lambda s: s.status,
    # DOMAIN.md's words for two of these: how a request came out (its status so
    # far), and the area (the division) of the bureau that handles it.
    "outcome": lambda s: s.status,
    "agency": lambda s: s.handling_agency_id,
    "area": _agency_code,
    "city": lambda s: divisions.city_of(_agency_code(s)),
    "province": lambda s: divisions.province_of(_agency_code(s)),
    "subject_area": lambda s: s.subject_area,
    "reason": lambda s: s.reason,
    "referral_target": lambda s: s.referral_target,
    "respondent": lambda s: s.respondent_uscc or s.respondent_name,
    "day": lambda s: _cst(s).date().isoformat(),
    "month": lambda s: f"{_cst(s):%Y-%m}",
    "year": lambda s: f"{_cst(s):%Y}",
}

MEASURES: dict[str, Callable[[RequestSummary], int]] = {
    "requests": lambda s: 1,
    "consumers": lambda s: s.consumers,
    "accepted": lambda s: s.decision == "ACCEPTED",
    "rejected": lambda s: s.decision == "REJECTED",
    "referred": lambda s: s.decision == "REFERRED",
    "decided_late": lambda s: s.decided_late,
    "mediations": lambda s: s.mediated,
    "agreed": lambda s: s.agreed,
    "terminated": lambda s: s.terminated,
    "time_limit_exceeded": lambda s: s.time_limit_exceeded,
    "amount_recovered_fen": lambda s: s.amount_recovered_fen,
    "penalty_cases": lambda s: bool(s.penalty_case_ids),
}


class InvalidQuery(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Query:
    start: date | None = None
    end: date | None = None
    agency: str | None = None
    area: str | None = None
    by: tuple[str, ...] = ()

    @classmethod
    def parse(cls, start: str | None = None, end: str | None = None, agency: str | None = None,
              area: str | None = None, by: str | Iterable[str] | None = None) -> "Query":
        """A query from text as a person types it; InvalidQuery names the bad field."""
        def day(text, name):
            try:
                return date.fromisoformat(text) if text else None
            except ValueError:
                raise InvalidQuery(name, f"{name} must be a date like 2026-03-01, not {text!r}") from None

        if agency and not AgencyId.parse(agency):
            raise InvalidQuery("agency", f"agency must be an agency id like AMR-310115, not {agency!r}")
        if area and not divisions.ADCODE_PREFIX.match(area):
            raise InvalidQuery("area", f"area must be a division code like 440000 or 440100, not {area!r}")
        # A well-formed code of nothing would give empty figures that read as "none there".
        directory = Directory.load()
        # An agency, or a scope of its kind over a known area (EEB-440100: Guangzhou's county bureaus).
        if agency and not directory.exists(agency) and not directory.exists(f"AMR-{adcode_of(agency)}"):
            raise InvalidQuery("agency", f"no agency {agency} in the directory, nor an area it could cover")
        if area and not directory.exists("AMR-" + area.ljust(6, "0")):
            raise InvalidQuery("area", f"no division {area} in the directory")
        names = [n.strip() for n in (by.split(",") if isinstance(by, str) else by or ()) if n.strip()]
        unknown = [n for n in names if n not in DIMENSIONS]
        if unknown:
            raise InvalidQuery("by", f"cannot group by {', '.join(unknown)}; one of {', '.join(DIMENSIONS)}")
        query = cls(day(start, "from"), day(end, "to"), agency or None, area or None, tuple(dict.fromkeys(names)))
        if query.start and query.end and query.start > query.end:
            raise InvalidQuery("to", f"to ({query.end}) is before from ({query.start})")
        return query

    def admits(self, summary: RequestSummary) -> bool:
        if self.start or self.end:
            received_on = _cst(summary).date()
            if (self.start and received_on < self.start) or (self.end and received_on > self.end):
                return False
        if self.agency and not divisions.within(summary.handling_agency_id, self.agency):
            return False
        if self.area and not divisions.in_area(_agency_code(summary), divisions.area_prefix(self.area)):
            return False
        return True

    def to_dict(self) -> dict:
        return {"from": self.start and self.start.isoformat(), "to": self.end and self.end.isoformat(),
                "agency": self.agency, "area": self.area, "by": list(self.by)}


@dataclass
class Report:
    query: Query
    groups: list[dict] = field(default_factory=list)
    total: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"query": self.query.to_dict(), "measures": list(MEASURES), "groups": self.groups, "total": self.total}


def _sort_key(key: tuple) -> tuple:
    # Groups with no value for a dimension (a consultation has no subject area) come last.
    return tuple((value is None, value or "") for value in key)


def compute(summaries: Iterable[RequestSummary], query: Query) -> Report:
    keys = [DIMENSIONS[name] for name in query.by]
    measures = list(MEASURES.values())
    sums: dict[tuple, list[int]] = {}
    total = [0] * len(measures)
    for summary in summaries:
        if not query.admits(summary):
            continue
        values = [int(measure(summary)) for measure in measures]
        group = sums.setdefault(tuple(key(summary) for key in keys), [0] * len(measures))
        for i, value in enumerate(values):
            group[i] += value
            total[i] += value
    groups = [{**dict(zip(query.by, key)), **dict(zip(MEASURES, sums[key]))} for key in sorted(sums, key=_sort_key)]
    return Report(query, groups, dict(zip(MEASURES, total)))


def from_facts(facts: Mapping[str, Iterable[dict]], query: Query) -> Report:
    """The figures straight from each request's facts (complaint id -> facts)."""
    summaries = (summarise(complaint_id, request_facts) for complaint_id, request_facts in facts.items())
    return compute((s for s in summaries if s is not None), query)
