"""Joint complaints (Order 62 art. 14, Order 20 art. 11, Order 121 art. 12):
several consumers of one dispute with one respondent complain together, and
may elect in writing up to two representatives, whose acts bind those they
represent, except that changing a representative, giving up the complaint or
agreeing in mediation needs the represented consumers' consent.

Pure functions of a ComplaintReceived record."""
from __future__ import annotations


def consumers(record: dict) -> list[str]:
    """Every consumer of the complaint by name, the one who filed first."""
    first = (record.get("consumer") or {}).get("name")
    return [name for name in (first, *(c.get("name") for c in record.get("co_consumers") or ())) if name]


def acting(record: dict) -> list[str]:
    """Who acts for the complaint: the elected representatives, or else the
    consumer who filed it."""
    return list(record.get("representatives") or consumers(record)[:1])


def represented(record: dict) -> list[str]:
    """The consumers whose consent a withdrawal or an agreement needs: every one
    but those acting. Empty for a complaint of one consumer."""
    actors = set(acting(record))
    return [name for name in consumers(record) if name not in actors]
