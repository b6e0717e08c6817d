"""Free-text addresses (typed in by hotline, letter and visit staff) to the
6-digit code of the county-level division they name.

A code is returned only when the text names one county-level division beyond
doubt. cpca on its own always answers with something: given "朝阳区" it picks one
of the two districts of that name, given "中山路100号" it reads the street as
Zhongshan city. Jurisdiction follows from this code, so an ambiguous text stays
unresolved and a person looks at it, rather than sending a complaint to the
wrong bureau.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import lru_cache

PROVIDED, ADDRESS, UNRESOLVED = "PROVIDED", "ADDRESS", "UNRESOLVED"

# cpca's names for the rows that stand for "the districts of this city" or "the
# counties directly under this province": they are not places a person writes.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True)
class Resolution:
    adcode: str | None
    source: str  # ADDRESS or UNRESOLVED
    province: str | None = None
    city: str | None = None
    district: str | None = None


_NOTHING = Resolution(None, UNRESOLVED)


class _Tables:
    """cpca's division table, indexed the way the ambiguity checks need it."""

    def __init__(self, cpca):
        self.cpca = cpca
        self.counties_by_name: dict[str, list[str]] = {}
        real_county_prefixes = set()
        for info in cpca.ad_2_addr_dict.values():
            if info.rank == 2 and info.name not in _PLACEHOLDERS:
                self.counties_by_name.setdefault(info.name, []).append(info.adcode)
                real_county_prefixes.add(info.adcode[:4])
        # Dongguan, Zhongshan, Danzhou, Jiayuguan: prefecture-level cities with no
        # county level below them, so the city's own bureau is the county-level one.
        self.cities_without_counties = frozenset(
            info.adcode for info in cpca.ad_2_addr_dict.values()
            if info.rank == 1 and info.adcode[:4] not in real_county_prefixes)


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    import cpca  # loads its whole table at import: deferred to the first use

    return _Tables(cpca)


def warm_up() -> None:
    """Load cpca's tables now (about a second) instead of on the first request."""
    resolve_address("上海市浦东新区")


@lru_cache(maxsize=8192)
def resolve_address(text: str | None) -> Resolution:
    if not isinstance(text, str) or not text.strip():
        return _NOTHING
    text = text.strip()
    tables = _tables()
    row = tables.cpca.transform([text], pos_sensitive=True).to_dict("records")[0]
    row = {key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in row.items()}
    adcode, district, city = row["adcode"], row["区"], row["市"]
    if adcode is None:
        return _NOTHING
    anchor = _anchor(row)
    if district and district not in _PLACEHOLDERS:
        if anchor == "" and not text.startswith(district, row["区_pos"]):
            return _NOTHING  # "开平路" is a street, not Kaiping city: a bare short name is no county
        candidates = [code for code in tables.counties_by_name.get(district, []) if code.startswith(anchor)]
        if len(candidates) != 1:
            return _NOTHING
    elif adcode in tables.cities_without_counties:
        if row["省_pos"] < 0 and not (row["市_pos"] >= 0 and text.startswith(city, row["市_pos"])):
            return _NOTHING  # "中山路" names a street in every city
        district = None
    else:
        return _NOTHING  # a province or a city with counties: which county is not said
    return Resolution(adcode, ADDRESS, row["省"], None if city in _PLACEHOLDERS else city, district)


def _anchor(row: dict) -> str:
    """The code prefix of the widest area the text itself names above the county
    (the city's four digits, the province's two, or nothing)."""
    if row["市_pos"] >= 0:
        return row["adcode"][:4]
    if row["省_pos"] >= 0:
        return row["adcode"][:2]
    return ""


def fill_missing_adcodes(body: dict) -> dict:
    """A copy of a complaint or report body with `respondent.adcode` resolved from
    `respondent.address` when missing, and where each code came from.

    `transaction.place_adcode` is never derived: the body carries no address of
    the place of the act, and the operator's address is not that place (a chain's
    head office, a stall at a fair). Guessing it would invent an ACTIVITY_LOCATION
    jurisdiction, so a missing place stays UNRESOLVED and routing falls back to
    the operator's or the platform's location.
    """
    if not isinstance(body, dict):
        return body
    filled = copy.deepcopy(body)
    respondent = filled.get("respondent")
    if isinstance(respondent, dict):
        if respondent.get("adcode"):
            respondent["adcode_source"] = PROVIDED
        else:
            found = resolve_address(respondent.get("address"))
            respondent["adcode"], respondent["adcode_source"] = found.adcode, found.source
    transaction = filled.get("transaction")
    if isinstance(transaction, dict):
        if transaction.get("place_adcode"):
            transaction["place_adcode_source"] = PROVIDED
        else:
            transaction["place_adcode"], transaction["place_adcode_source"] = None, UNRESOLVED
    return filled
