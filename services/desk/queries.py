"""What the desk answers, for the API and the console alike: each function
takes the desk application, the caller and the filters, and reads the tables
after bringing them up to the store's latest records."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from services.agencies.divisions import city_of
from services.auth import Principal

from . import listing as L
from .jsonpage import page_json
from .rows import CASE_COLUMNS, COMPLAINT_COLUMNS, REFERRAL_COLUMNS
from .vocabulary import CASE_STATUS_ALIASES, CASE_STATUSES, REFERRAL_STATUSES, SUBJECT_AREAS


def today(app) -> date:
    return app.clock.now().astimezone(L.CST).date()


def complaints(app, who: Principal, q: dict, sort=None, cursor=None, limit: int | None = 50) -> L.Page:
    app.refresh()
    where = L.Where()
    personal = L.scope(where, who, "agency_id", "agency_line")
    L.below(where, q.get("agency"), L.flag(q.get("below"), "below"), "agency_id", "agency_line")
    day = today(app)
    L.complaint_filters(where, q, day)
    rows, next_cursor, sort = L.page(app.tables.db, L.COMPLAINTS, where, sort, cursor, limit)
    return _page(rows, lambda r: L.complaint_item(r, personal, day), COMPLAINT_COLUMNS, next_cursor, sort, limit)


def complaints_json(app, who: Principal, q: dict, sort=None, cursor=None, limit: int = 50) -> tuple[str, str | None, str]:
    """The same page as `complaints`, its items rendered by the database."""
    app.refresh()
    where = L.Where()
    personal = L.scope(where, who, "agency_id", "agency_line")
    L.below(where, q.get("agency"), L.flag(q.get("below"), "below"), "agency_id", "agency_line")
    day = today(app)
    L.complaint_filters(where, q, day)
    return page_json(app.tables.db, L.COMPLAINTS, where, sort, cursor, limit, personal, day)


def public_complaints(app, q: dict, sort=None, cursor=None, limit: int | None = 50) -> L.Page:
    app.refresh()
    where = L.Where()
    where.add("kind = 'COMPLAINT'")
    allowed = {k: q.get(k) for k in ("status", "subject_area", "respondent", "uscc", "received_from", "received_to",
                                     "decided_from", "decided_to")}
    L.complaint_filters(where, allowed, today(app))
    if q.get("city"):
        if not (q["city"].isdigit() and len(q["city"]) == 6 and city_of(q["city"]) == q["city"]):
            raise L.InvalidQuery("city", "city: a city's six-digit code, e.g. 330100 (Hangzhou) or 310000 "
                                         "(Shanghai); a county's code is not one")
        where.add("city_adcode = ?", q["city"])
    if sort not in (None, "received", "-received"):
        raise L.InvalidQuery("sort", "sort must be received or -received")
    rows, next_cursor, sort = L.page(app.tables.db, L.COMPLAINTS, where, sort, cursor, limit)
    return _page(rows, L.public_item, COMPLAINT_COLUMNS, next_cursor, sort, limit)


def cases(app, who: Principal, q: dict, sort=None, cursor=None, limit: int | None = 50) -> L.Page:
    app.refresh()
    where = L.Where()
    L.scope(where, who, "agency_id", "agency_line")
    L.below(where, q.get("agency"), L.flag(q.get("below"), "below"), "agency_id", "agency_line")
    where.one_of("status", _case_statuses(q.get("status")), CASE_STATUSES + tuple(CASE_STATUS_ALIASES),
                 "status")
    if (is_open := L.flag(q.get("open"), "open")) is not None:
        where.add(f"status {'' if is_open else 'NOT '}IN ('LEAD', 'INVESTIGATING', 'DECIDED')")
    if q.get("respondent"):
        where.add("(respondent_name LIKE ? OR respondent_uscc = ?)", L.like(q["respondent"]), q["respondent"].upper())
    if q.get("complaint_id"):
        where.add("complaint_ids LIKE ?", L.like(q["complaint_id"]))
    L.day_range(where, "opened_at", q.get("opened_from"), q.get("opened_to"), "opened")
    rows, next_cursor, sort = L.page(app.tables.db, L.CASES, where, sort, cursor, limit)
    return _page(rows, lambda r: {**{k: v for k, v in r.items() if k not in ("agency_line", "deadline_key", "updated_at")},
                                  "complaint_ids": r["complaint_ids"].split(",") if r.get("complaint_ids") else []},
                 CASE_COLUMNS, next_cursor, sort, limit)


def _case_statuses(text: str | None) -> str | None:
    """A status filter with the old name taken for the new (rows themselves are
    derived again at start when their rule changes: tables.PROJECTION)."""
    if not text:
        return text
    return ",".join(CASE_STATUS_ALIASES.get(v.strip(), v.strip()) for v in text.split(",") if v.strip())


def referrals(app, who: Principal, q: dict, sort=None, cursor=None, limit: int | None = 50) -> L.Page:
    """Addressed to an agency (`to`: only that agency's own callers), or sent
    by bureaus (`from`: as far as the caller's role reaches)."""
    app.refresh()
    where = L.Where()
    to, sent_by = q.get("to"), q.get("from")
    personal = True  # the addressee, and the bureaus that referred it
    if to or not sent_by:
        to = to or who.agency_id
        if to != who.agency_id or who.role == "REGULATOR":
            raise L.NotAllowed(f"only {to}'s own system, case workers and supervisors read the referrals addressed to it")
        where.add("to_agency_id = ?", to)
    if sent_by:
        if who.role == "AGENCY_SYSTEM":
            raise L.NotAllowed("an agency system reads the referrals addressed to it (to=AGENCY)")
        personal = L.scope(where, who, "from_agency_id", "from_line")
        L.below(where, sent_by, True, "from_agency_id", "from_line")
    where.one_of("status", q.get("status"), REFERRAL_STATUSES, "status")
    where.one_of("subject_area", q.get("subject_area"), SUBJECT_AREAS, "subject_area")
    rows, next_cursor, sort = L.page(app.tables.db, L.REFERRALS, where, sort, cursor, limit)
    hidden = {"from_line"} | (set() if personal else {"consumer_name", "consumer_phone", "facts"})
    return _page(rows, lambda r: {k: v for k, v in r.items() if k not in hidden}, REFERRAL_COLUMNS,
                 next_cursor, sort, limit)


def _page(rows: list[dict], item, table_columns: tuple[str, ...], next_cursor, sort, limit) -> L.Page:
    # The columns are those of an item made from an empty row: what the caller
    # would see in any row, personal data hidden alike.
    columns = tuple(item(dict.fromkeys(table_columns)))
    return L.Page([item(r) for r in rows], next_cursor, sort, limit, columns)


# What a bureau accepted: a complaint still undecided, refused or referred
# elsewhere says nothing yet of the operator, and its name is the consumer's word.
ACCEPTED = ("ACCEPTED", "IN_MEDIATION", "AGREED", "TERMINATED", "CLOSED")


def operator(app, uscc: str) -> dict:
    """An operator's record as the public sees it: the complaints against its
    credit code that a bureau accepted, by month of receipt, the share of
    concluded mediations that ended in agreement, and the money recovered for
    consumers."""
    uscc = L.credit_code(uscc)
    app.refresh()
    rows = app.tables.db.query(
        "SELECT respondent_name, status, received_at, amount_recovered_fen FROM desk_complaints "
        "WHERE respondent_uscc = ? AND kind = 'COMPLAINT' AND status IN (" + ", ".join("?" * len(ACCEPTED)) + ") "
        "ORDER BY received_at", (uscc, *ACCEPTED))
    months: dict[str, dict] = defaultdict(lambda: {"complaints": 0, "agreed": 0})
    names = []
    for r in rows:
        month = datetime.fromisoformat(r["received_at"]).astimezone(L.CST).strftime("%Y-%m")
        months[month]["complaints"] += 1
        months[month]["agreed"] += r["status"] == "AGREED"
        if r["respondent_name"] and r["respondent_name"] not in names:
            names.append(r["respondent_name"])
    agreed = sum(r["status"] == "AGREED" for r in rows)
    concluded = sum(r["status"] in ("AGREED", "TERMINATED") for r in rows)
    return {"respondent_uscc": uscc, "respondent_names": names, "complaints": len(rows),
            "concluded": concluded, "agreed": agreed,
            "agreed_share": round(agreed / concluded, 4) if concluded else None,
            "amount_recovered_fen": sum(r["amount_recovered_fen"] or 0 for r in rows),
            "by_month": [{"month": m, **v} for m, v in sorted(months.items())]}


def complaint(app, complaint_id: str) -> tuple[dict | None, list[dict]]:
    """A complaint's row and its whole history, for the console (which
    decides what the caller may see of it)."""
    app.refresh()
    rows = app.tables.db.query("SELECT * FROM desk_complaints WHERE complaint_id = ?", (complaint_id,))
    return (rows[0] if rows else None), _as_it_happened(app.tables.history(f"complaint/{complaint_id}"))


def case(app, case_id: str) -> tuple[dict | None, list[dict]]:
    app.refresh()
    rows = app.tables.db.query("SELECT * FROM desk_cases WHERE case_id = ?", (case_id,))
    return (rows[0] if rows else None), _as_it_happened(app.tables.history(f"case/{case_id}"))


def _as_it_happened(facts: list[dict]) -> list[dict]:
    """In the order things happened: the desk reads each topic on its own, so a
    decision may reach it before the receipt it decides on."""
    def instant(fact: dict) -> datetime:
        try:
            return datetime.fromisoformat(fact.get("occurred_at") or "")
        except ValueError:
            return datetime.max.replace(tzinfo=L.CST)
    return sorted(facts, key=instant)  # stable: facts of one instant keep their arrival order
