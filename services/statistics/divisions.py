"""Where an agency sits: its county, city and province codes, by arithmetic on
the GB/T 2260 division code in its id, so figures roll up without the directory.

The rule, which agrees with the routing directory's `city_of` for every
county-level bureau it lists:
- province = the first two digits + "0000";
- city = the first four digits + "00";
- except where there is no city level between county and province: the
  districts of the municipalities (Beijing 11, Tianjin 12, Shanghai 31,
  Chongqing 50) and the county-level divisions a province administers directly
  (codes xx90xx, e.g. Hubei's 429004): their city is the province.
"""
from __future__ import annotations

import re

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
AGENCY_ID = re.compile(r"^([A-Z]+)-(\d{6})$")
ADCODE_PREFIX = re.compile(r"^\d{2}(\d{2}){0,2}$")


def adcode_of(agency_id: str | None) -> str | None:
    match = AGENCY_ID.match(agency_id or "")
    return match.group(2) if match else None


def province_of(adcode: str | None) -> str | None:
    return adcode[:2] + "0000" if adcode else None


def city_of(adcode: str | None) -> str | None:
    if not adcode:
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
    mine, theirs = AGENCY_ID.match(agency_id), AGENCY_ID.match(scope)
    if not mine or not theirs or mine.group(1) != theirs.group(1):
        return False
    adcode, scope_code = mine.group(2), theirs.group(2)
    if scope_code.endswith("0000"):
        return province_of(adcode) == scope_code
    if scope_code.endswith("00"):
        return adcode[:4] == scope_code[:4]
    return False
