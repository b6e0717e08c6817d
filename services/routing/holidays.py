"""The State Council's holiday notices as data, for years the calendar package
does not know yet.

chinese-calendar carries every year it was released with (1.11.0: to 2026).
The notice for a later year (国务院办公厅关于某年部分节假日安排的通知) is
published each autumn; an operator loads it as a JSON file, the 2026 notice in
examples/holidays/2026.json being the model:

    {"year": 2027,
     "source": "国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔…〕…号)",
     "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-01"}, ...],
     "working_days": ["2027-02-20", ...]}

`holidays`: each period off, first and last day included; `working_days`: the
Saturdays and Sundays made working days (调休上班). Checked on load: ISO dates,
periods in order, no day both off and working, make-up days on weekends only,
and New Year's Day, the Spring Festival (its eve to the third day, for the years
in SPRING_FESTIVAL) and 1-3 October off. A file that fails is refused whole,
naming the defect. Files are found through TOUSU_HOLIDAY_NOTICES (paths
separated by the system's path separator; a directory means every *.json in it).

For a year with neither the package nor a notice, days are judged
provisionally: weekends and the statutory days fixed by the calendar (New
Year's Day, the Spring Festival, 1-2 May, 1-3 October) are rest days, every
other weekday a working day. A deadline that depended on such a day says so
(`provisional`), and is computed again once the notice is loaded.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

# The first day of the lunar year (正月初一), 2026-2036. The holiday starts on its eve.
SPRING_FESTIVAL = {2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
                   2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11),
                   2033: date(2033, 1, 31), 2034: date(2034, 2, 19), 2035: date(2035, 2, 8),
                   2036: date(2036, 1, 28)}
SETTING = "TOUSU_HOLIDAY_NOTICES"


class InvalidNotice(ValueError):
    pass


@dataclass(frozen=True)
class Notice:
    year: int
    source: str
    holidays: frozenset[date]
    working_days: frozenset[date]


def statutory_days(year: int) -> frozenset[date]:
    """The days off that never move, whatever a notice adds around them (全国年节及
    纪念日放假办法 as amended 2024): New Year's Day, the Spring Festival's eve to
    its third day, 1-2 May, 1-3 October. Qingming, Dragon Boat and Mid-Autumn
    need the notice (their dates follow the solar terms and the lunar calendar)."""
    days = {date(year, 1, 1), date(year, 5, 1), date(year, 5, 2)} | {date(year, 10, d) for d in (1, 2, 3)}
    if year in SPRING_FESTIVAL:
        first = SPRING_FESTIVAL[year]
        days |= {first + timedelta(days=n) for n in range(-1, 3)}
    return frozenset(days)


def parse(data: object, origin: str = "notice") -> Notice:
    def fail(why: str) -> InvalidNotice:
        return InvalidNotice(f"{origin}: {why}")

    if not isinstance(data, dict):
        raise fail("a notice is a JSON object with year, source, holidays and working_days")
    unknown = set(data) - {"year", "source", "holidays", "working_days"}
    if unknown:
        raise fail(f"unknown field(s) {', '.join(sorted(unknown))}")
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise fail("year must be a year such as 2027")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise fail("source must name the State Council notice")

    def day(value: object, where: str) -> date:
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise fail(f"{where}: {value!r} is not a date written YYYY-MM-DD")
        # A notice may reach into the neighbouring year (a New Year break
        # starting 30 December, a make-up Sunday before it).
        if abs(parsed.year - year) > 1:
            raise fail(f"{where}: {parsed.isoformat()} is too far from {year}")
        return parsed

    off: set[date] = set()
    periods = data.get("holidays")
    if not isinstance(periods, list) or not periods:
        raise fail("holidays must be a non-empty list of {name, from, to}")
    for n, period in enumerate(periods):
        if not isinstance(period, dict) or set(period) != {"name", "from", "to"}:
            raise fail(f"holidays[{n}] must have exactly name, from and to")
        first, last = day(period["from"], f"holidays[{n}].from"), day(period["to"], f"holidays[{n}].to")
        if last < first or (last - first).days > 15:
            raise fail(f"holidays[{n}]: {first.isoformat()} to {last.isoformat()} is not a holiday period")
        off |= {first + timedelta(days=k) for k in range((last - first).days + 1)}
    working = data.get("working_days")
    if not isinstance(working, list):
        raise fail("working_days must be a list of dates (may be empty)")
    on = {day(value, f"working_days[{n}]") for n, value in enumerate(working)}
    if clash := sorted(off & on):
        raise fail(f"{clash[0].isoformat()} is both a holiday and a working day")
    if weekday := sorted(d for d in on if d.weekday() < 5):
        raise fail(f"working_days: {weekday[0].isoformat()} is a weekday already; only weekends are made working days")
    if missing := sorted(statutory_days(year) - off):
        raise fail(f"{missing[0].isoformat()} is a statutory holiday and must be among the holidays")
    return Notice(year, source.strip(), frozenset(off), frozenset(on))


def load(path: str | os.PathLike) -> Notice:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidNotice(f"{path}: cannot read a JSON notice: {exc}") from None
    return parse(data, str(path))


def load_configured(env: dict | None = None) -> dict[int, Notice]:
    """Every notice TOUSU_HOLIDAY_NOTICES points to, by year; two for one year is an error."""
    notices: dict[int, Notice] = {}
    value = (env if env is not None else os.environ).get(SETTING) or ""
    for entry in filter(None, value.split(os.pathsep)):
        entry_path = Path(entry)
        paths = sorted(entry_path.glob("*.json")) if entry_path.is_dir() else [entry_path]
        for path in paths:
            notice = load(path)
            if notice.year in notices:
                raise InvalidNotice(f"{path}: a second notice for {notice.year}")
            notices[notice.year] = notice
    return notices
