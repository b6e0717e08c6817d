"""Where a division code sits: its city and province, by arithmetic on the
GB/T 2260 code, so that every service answers alike with or without the
directory (the public feed, figures that roll up, the desk's listings).

The rule, which agrees with the directory's chain of command for every
county-level bureau it lists (a test checks them all):
- province = the first two digits + "0000";
- city = the first four digits + "00";
- except where there is no city level between county and province: the
  districts of the municipalities (Beijing 11, Tianjin 12, Shanghai 31,
  Chongqing 50) and the county-level divisions a province administers directly
  (codes xx90xx, e.g. Hubei's 429004): their city is the province, whose bureau
  (AMR-310000) is the city-level one. The code table's 310100 ("市辖区") is a
  grouping with no government, never a city.
"""
from __future__ import annotations

import re

from .ids import AgencyId

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_ADCODE = re.compile(r"^[0-9]{6}\Z")  # \Z: a trailing newline is no part of a code
ADCODE_PREFIX = re.compile(r"^[0-9]{2}([0-9]{2}){0,2}\Z")


def _code(adcode: str | None) -> str | None:
    return adcode if isinstance(adcode, str) and _ADCODE.match(adcode) else None


def is_municipality(adcode: str | None) -> bool:
    return _code(adcode) is not None and adcode[:2] in MUNICIPALITIES


def province_of(adcode: str | None) -> str | None:
    return adcode[:2] + "0000" if _code(adcode) else None


def city_of(adcode: str | None) -> str | None:
    """City level, never finer: what the public feed may say of a place."""
    if not _code(adcode):
        return None
    if adcode[:2] in MUNICIPALITIES or adcode[2:4] == "90":
        return province_of(adcode)
    return adcode[:4] + "00"


def area_prefix(area: str) -> str:
    """An area filter as a code prefix: "440000" and "44" mean Guangdong,
    "440100" and "4401" Guangzhou, "440106" Tianhe alone."""
    while len(area) > 2 and area.endswith("00"):
        area = area[:-2]
    return area


def in_area(adcode: str | None, prefix: str) -> bool:
    return adcode is not None and adcode.startswith(prefix)


def within(agency_id: str | None, scope: str) -> bool:
    """Whether `agency_id` is the agency `scope` or one below it: an agency of
    the same kind whose area lies inside the scope's. A city-level scope such
    as AMR-440100 covers AMR-440106; AMR-310000 covers every Shanghai district."""
    if agency_id is None:
        return False
    if agency_id == scope:
        return True
    mine, theirs = AgencyId.parse(agency_id), AgencyId.parse(scope)
    if not mine or not theirs or mine.kind != theirs.kind:
        return False
    if theirs.adcode.endswith("0000"):
        return province_of(mine.adcode) == theirs.adcode
    if theirs.adcode.endswith("00"):
        return mine.adcode[:4] == theirs.adcode[:4]
    return False
