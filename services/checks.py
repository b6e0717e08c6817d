"""Checks on what a domain command is given: each returns the value in its one
accepted form or raises ValueError naming the argument (422 at the HTTP edge)."""
from __future__ import annotations

from datetime import datetime, timezone

from services.contract.errors import InvalidField


def _field(name: str) -> str:
    return name.split(" (")[0]  # "reason (under SAIC-62)" names the field reason


def utc(value: object, name: str) -> datetime:
    """An aware datetime in UTC; a naive one is refused because its instant is unknown."""
    if not isinstance(value, datetime):
        raise InvalidField(_field(name), f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidField(_field(name), f"{name} must carry a time zone")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidField(_field(name), f"{name} is out of range: an instant between the years 1 and 9999 "
                                         "in UTC") from None


def one_of(value: object, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise InvalidField(_field(name), f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value  # type: ignore[return-value]


def text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(_field(name), f"{name} must be a non-empty string")
    return value.strip()


def optional_text(value: object, name: str) -> str | None:
    return None if value is None else text(value, name)


# Ten trillion yuan: no sum recovered or fined comes near it, and totals of
# many stay within the 64-bit integers of Avro and SQL.
MAX_FEN = 10**15


def fen(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidField(_field(name), f"{name} must be a whole number of fen, zero or more")
    if value > MAX_FEN:
        raise InvalidField(_field(name), f"{name} must be at most {MAX_FEN} fen (ten trillion yuan), not {value}")
    return value
