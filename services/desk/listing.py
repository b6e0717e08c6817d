"""Listings over the desk's tables: filters, who sees what, keyset pages.

A cursor names the last row of a page by its sort value and key, so the next
page starts strictly after it: rows inserted meanwhile never repeat a row
already listed nor push one out of the listing."""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from services.auth import Principal
from services.contract.status import STATUSES

from .rows import OPEN

CST = ZoneInfo("Asia/Shanghai")
MAX_LIMIT = 10_000
PERSONAL = ("consumer_name", "consumer_phone")
PUBLIC = ("complaint_id", "status", "respondent_name", "respondent_uscc", "subject_area", "city_adcode",
          "received_on", "decided_on", "outcome")


class InvalidQuery(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def credit_code(text: str, field_name: str = "uscc") -> str:
    """A unified social credit code as the tables hold it, or InvalidQuery:
    a code that cannot be one would only ever find nothing."""
    from stdnum.cn import uscc

    if not uscc.is_valid(text):
        raise InvalidQuery(field_name, f"{field_name}: not a unified social credit code (18 characters ending "
                                       "in its check character, e.g. 913301060000000039)")
    return uscc.compact(text)


class NotAllowed(PermissionError):
    pass


@dataclass(frozen=True)
class Listing:
    table: str
    key: str
    sorts: dict[str, tuple[str, str]]
    default_sort: str


COMPLAINTS = Listing("desk_complaints", "complaint_id",
                     {"deadline": ("deadline_key", "ASC"), "received": ("received_at", "ASC"),
                      "-received": ("received_at", "DESC"), "-updated": ("updated_at", "DESC")}, "-received")
CASES = Listing("desk_cases", "case_id",
                {"deadline": ("deadline_key", "ASC"), "opened": ("opened_at", "ASC"),
                 "-opened": ("opened_at", "DESC")}, "-opened")
REFERRALS = Listing("desk_referrals", "id",
                    {"referred": ("referred_at", "ASC"), "-referred": ("referred_at", "DESC")}, "-referred")


@dataclass
class Where:
    clauses: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)

    def add(self, clause: str, *params) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def one_of(self, column: str, text: str | None, allowed: tuple[str, ...] | None, name: str) -> None:
        if not text:
            return
        values = [v.strip() for v in text.split(",") if v.strip()]
        if not values:
            return  # `status=,,`: nothing named, nothing filtered (`IN ()` is no SQL PostgreSQL takes)
        unknown = [v for v in values if allowed is not None and v not in allowed]
        if unknown:
            raise InvalidQuery(name, f"{name} must be among {', '.join(allowed)}, not {unknown[0]!r}")
        self.add(f"{column} IN ({', '.join('?' * len(values))})", *values)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1 = 1"


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQuery(name, f"{name} must be a date YYYY-MM-DD, not {text!r}") from None


def cst_start(day: date) -> str:
    """The instant a day begins in China, as the tables store instants (UTC ISO)."""
    return datetime.combine(day, time(0), CST).astimezone(timezone.utc).isoformat()


def day_range(where: Where, column: str, start: str | None, end: str | None, name: str) -> None:
    # The calendar's first and last days bound nothing (and have no instant in China time before or after them).
    if (first := _day(start, f"{name}_from")) is not None and first > date.min:
        where.add(f"{column} >= ?", cst_start(first))
    if (last := _day(end, f"{name}_to")) is not None and last < date.max - timedelta(days=1):
        where.add(f"{column} < ?", cst_start(last + timedelta(days=1)))


def flag(text: str | None, name: str) -> bool | None:
    if text is None or text == "":
        return None
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise InvalidQuery(name, f"{name} must be true or false, not {text!r}")


def like(text: str) -> str:
    return "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"


def scope(where: Where, who: Principal, agency_column: str, line_column: str) -> bool:
    """Restrict to what the caller may read; whether it may see personal data."""
    if who.role == "CASE_WORKER":
        where.add(f"{agency_column} = ?", who.agency_id)
        return True
    if who.role in ("SUPERVISOR", "REGULATOR"):
        where.add(f"{line_column} LIKE ?", like(f"/{who.agency_id}/"))
        return who.role == "SUPERVISOR"
    raise NotAllowed(f"role {who.role} cannot list these; a CASE_WORKER, SUPERVISOR or REGULATOR token is needed")


def below(where: Where, agency: str | None, include_below: bool | None, agency_column: str, line_column: str):
    if not agency:
        return
    if include_below is False:
        where.add(f"{agency_column} = ?", agency)
    else:
        where.add(f"{line_column} LIKE ?", like(f"/{agency}/"))


def encode_cursor(sort: str, value, key) -> str:
    raw = json.dumps([sort, value, key], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_value(value) -> bool:
    """What a cursor this service gave out holds: a row's sort value (text, a
    64-bit number, or none), as a parameter the database takes."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")  # no lone surrogate
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -2**63 <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None


def decode_cursor(text: str, sort: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        named, value, key = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise InvalidQuery("cursor", "cursor is not one this service gave out") from None
    if not (isinstance(named, str) and isinstance(key, str) and _cursor_value(value) and _cursor_value(key)):
        raise InvalidQuery("cursor", "cursor is not one this service gave out")
    if named != sort:
        raise InvalidQuery("cursor", f"cursor belongs to sort {named!r}, not {sort!r}")
    return value, key


@dataclass
class Page:
    items: list[dict]
    next_cursor: str | None
    sort: str
    limit: int | None
    # What each item holds, for an export with no rows: its header is still there.
    columns: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"items": self.items, "next_cursor": self.next_cursor, "sort": self.sort, "limit": self.limit}


def keyset(listing: Listing, where: Where, sort: str | None, cursor: str | None,
           limit: int | None) -> tuple[str, str, str]:
    """Check the sort and limit, start after the cursor; (sort, column, direction)."""
    sort = sort or listing.default_sort
    if sort not in listing.sorts:
        raise InvalidQuery("sort", f"sort must be one of {', '.join(listing.sorts)}, not {sort!r}")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery("limit", f"limit must be between 1 and {MAX_LIMIT}")
    column, direction = listing.sorts[sort]
    if cursor:
        value, key = decode_cursor(cursor, sort)
        op = ">" if direction == "ASC" else "<"
        where.add(f"({column} {op} ? OR ({column} = ? AND {listing.key} {op} ?))", value, value, key)
    return sort, column, direction


def page(db, listing: Listing, where: Where, sort: str | None, cursor: str | None,
         limit: int | None) -> tuple[list[dict], str | None, str]:
    sort, column, direction = keyset(listing, where, sort, cursor, limit)
    sql = (f"SELECT * FROM {listing.table} WHERE {where.sql()} "
           f"ORDER BY {column} {direction}, {listing.key} {direction}")
    params = list(where.params)
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit + 1)
    rows = db.query(sql, params)
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    next_cursor = encode_cursor(sort, rows[-1][column], rows[-1][listing.key]) if more else None
    return rows, next_cursor, sort


def complaint_filters(where: Where, q: dict, today: date) -> None:
    from .vocabulary import CHANNELS, KINDS, SUBJECT_AREAS

    where.one_of("status", q.get("status"), STATUSES, "status")
    where.one_of("kind", q.get("kind"), KINDS, "kind")
    where.one_of("subject_area", q.get("subject_area"), SUBJECT_AREAS, "subject_area")
    where.one_of("channel", q.get("channel"), CHANNELS, "channel")
    if (is_open := flag(q.get("open"), "open")) is not None:
        where.add(f"status {'' if is_open else 'NOT '}IN ({', '.join('?' * len(OPEN))})", *OPEN)
    if q.get("respondent"):
        where.add("(respondent_name LIKE ? OR respondent_uscc = ?)", like(q["respondent"]), q["respondent"].upper())
    if q.get("uscc"):
        where.add("respondent_uscc = ?", credit_code(q["uscc"]))
    day_range(where, "received_at", q.get("received_from"), q.get("received_to"), "received")
    day_range(where, "decided_at", q.get("decided_from"), q.get("decided_to"), "decided")
    if (due := _day(q.get("deadline_before"), "deadline_before")) is not None:
        where.add("deadline <= ?", due.isoformat())
    if (overdue := flag(q.get("overdue"), "overdue")) is not None:
        clause = "(deadline < ? OR (decision_overdue = 1 AND status IN ('RECEIVED', 'TRANSFERRED')))"
        where.add(clause if overdue else f"NOT {clause}", today.isoformat())
    if q.get("worker"):
        where.add("workers LIKE ?", like(q["worker"]))


def overdue(row: dict, today: date) -> bool:
    return bool((row.get("deadline") and row["deadline"] < today.isoformat())
                or (row.get("decision_overdue") and row.get("status") in ("RECEIVED", "TRANSFERRED")))


def complaint_item(row: dict, personal: bool, today: date) -> dict:
    item = {k: v for k, v in row.items() if k not in ("agency_line", "deadline_key")}
    item["decision_overdue"] = bool(row.get("decision_overdue"))
    item["mediation_paused"] = bool(row.get("mediation_paused"))
    item["overdue"] = overdue(row, today)
    item["case_ids"] = json.loads(row["case_ids"] or "[]")
    item["workers"] = json.loads(row["workers"] or "[]")
    if not personal:
        for name in PERSONAL:
            item.pop(name, None)
    return item


def public_item(row: dict) -> dict:
    return {"complaint_id": row["complaint_id"], "status": row["status"],
            "respondent_name": row["respondent_name"], "respondent_uscc": row["respondent_uscc"],
            "subject_area": row["subject_area"], "city_adcode": row["city_adcode"],
            "received_on": _cst_day(row["received_at"]), "decided_on": _cst_day(row["decided_at"]),
            "outcome": row["outcome"]}


def _cst_day(instant: str | None) -> str | None:
    if not instant:
        return None
    return datetime.fromisoformat(instant).astimezone(CST).date().isoformat()

