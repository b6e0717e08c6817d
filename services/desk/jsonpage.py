"""A page of complaints rendered as JSON by the database itself (SQLite's
json_object, PostgreSQL's json_build_object): ten thousand rows are then one
string each, not thirty Python objects each, which is what keeps a page of
10,000 under a tenth of a second. Field for field the same as
`listing.complaint_item`, which the console uses."""
from __future__ import annotations

from datetime import date

from .listing import Listing, Where, encode_cursor, keyset

# A complaint as a listing hands it out, in the order of schemas.ComplaintItem:
# (name, how the database renders it).
ITEM = (("complaint_id", "text"), ("kind", "text"), ("status", "text"), ("channel", "text"),
        ("receiving_agency_id", "text"), ("agency_id", "text"), ("subject_area", "text"),
        ("respondent_name", "text"), ("respondent_uscc", "text"), ("city_adcode", "text"),
        ("received_at", "text"), ("decided_at", "text"), ("decision_due", "text"), ("decision_overdue", "flag"),
        ("mediation_due", "text"), ("mediation_paused", "flag"), ("deadline", "text"), ("overdue", "overdue"),
        ("outcome", "text"), ("reason", "text"), ("amount_recovered_fen", "text"), ("workers", "json"),
        ("case_ids", "json"), ("consumer_name", "personal"), ("consumer_phone", "personal"), ("updated_at", "text"))
OVERDUE = "(deadline < ? OR (decision_overdue = 1 AND status IN ('RECEIVED', 'TRANSFERRED')))"


def item_sql(postgres: bool, personal: bool) -> str:
    """Each row rendered as its JSON object by the database itself: a page of
    ten thousand rows is then one string per row, not thirty Python objects."""
    parts = []
    for name, how in ITEM:
        if how == "personal" and not personal:
            continue
        if how == "flag":
            value = f"({name} = 1)" if postgres else f"json(CASE WHEN {name} = 1 THEN 'true' ELSE 'false' END)"
        elif how == "overdue":
            value = (f"COALESCE({OVERDUE}, false)" if postgres
                     else f"json(CASE WHEN {OVERDUE} THEN 'true' ELSE 'false' END)")
        elif how == "json":
            value = f"{name}::json" if postgres else f"json({name})"
        else:
            value = name
        parts.append(f"'{name}', {value}")
    return (f"json_build_object({', '.join(parts)})::text" if postgres else f"json_object({', '.join(parts)})")


def page_json(db, listing: Listing, where: Where, sort: str | None, cursor: str | None, limit: int,
              personal: bool, today: date) -> tuple[str, str | None, str]:
    """One page as the JSON text of its items; the next cursor; the sort."""
    sort, column, direction = keyset(listing, where, sort, cursor, limit)
    sql = (f"SELECT {item_sql(db.postgres, personal)}, {column}, {listing.key} FROM {listing.table} "
           f"WHERE {where.sql()} ORDER BY {column} {direction}, {listing.key} {direction} LIMIT ?")
    rows = db.tuples(sql, [today.isoformat(), *where.params, limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort, rows[-1][1], rows[-1][2]) if more else None
    return "[" + ",".join(r[0] for r in rows) + "]", next_cursor, sort
