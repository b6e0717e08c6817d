"""The directory of agencies: who exists, where, above whom, and for which matters.

The directory is data. Its base is the national division-code table (GB/T 2260)
that the cpca package ships (cpca/resources/adcodes.csv); from it every
mainland province, prefecture-level city and county-level division gets a
market-regulation bureau (AMR), every county-level division its ecology and
environment, health, education, transport, housing and tourism bureaus, and
every province its communications administration, financial regulator's office
and postal administration. Agency ids are `KIND-ADCODE`.

How the table's shape becomes a hierarchy:

- The rows named 市辖区, 县, 省直辖县级行政区划 and 自治区直辖县级行政区划 are
  groupings in the code table, not places with a government, so they have no
  bureaus. The districts of Beijing, Tianjin, Shanghai and Chongqing and the
  counties a province administers directly (Hubei 4290xx, Hainan 4690xx, Henan
  419001, Hebei 1390xx, Xinjiang 6590xx) therefore sit directly under the
  province: AMR-310115's superior is AMR-310000, and `city_of("310115")` is
  "310000", as services/agencies/divisions.py says for every service.
- Dongguan, Zhongshan, Danzhou and Jiayuguan are prefecture-level cities with no
  county level below them; their own bureaus do the county-level work, so
  `is_county` is true for them and their county-kind agencies carry the city's
  code (EEB-441900).
- Taiwan, Hong Kong and Macao are in the table but outside the mainland's
  administrative system: no agencies.
- The State Administration for Market Regulation (AMR-100000, level NATIONAL,
  100000 being the code GB/T 2260 gives the country) is above every provincial
  AMR: a jurisdiction dispute between bureaus of two provinces goes to it, as
  their common superior (Order 62 art. 9; Order 20 art. 30; Order 121 art. 33).
- Only AMR bureaus form a chain of command here. The other agencies' superiors
  (city or provincial departments, national bodies) are not in the directory, so
  their parent is None.

A deployment's local changes come from a JSON file, given to `Directory.load`
or named by the TOUSU_DIRECTORY_OVERRIDE environment variable:

    {
      "add": [{"id": "AMR-500155", "name": "重庆市梁平区市场监督管理局",
               "level": "COUNTY", "parent_id": "AMR-500000"}],
      "rename": {"AMR-310115": "上海市浦东新区市场监督管理局"},
      "remove": ["AMR-500228", "EEB-500228"]
    }

`add` creates or replaces an agency; `remit` may be given, and defaults to its
kind's. The AMR bureaus are the geography: a new county-level division is
known once its AMR is added (level COUNTY, parent its city's or province's AMR).
Removals are applied first, then additions, then renames. A file that leaves an
agency under a parent that does not exist is refused (DirectoryError).
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Iterator

from . import divisions
from .ids import AgencyId

COUNTY, CITY, PROVINCE, NATIONAL = "COUNTY", "CITY", "PROVINCE", "NATIONAL"
LEVELS = (COUNTY, CITY, PROVINCE, NATIONAL)
NATIONAL_AMR = "AMR-100000"

REMITS: dict[str, tuple[str, ...]] = {
    "AMR": ("GOODS_QUALITY", "SERVICE_CONTRACT", "FOOD", "PRICE", "ADVERTISING", "OTHER_MARKET"),
    "EEB": ("ENVIRONMENT",), "HC": ("MEDICAL",), "EDU": ("EDUCATION",), "TRANS": ("TRANSPORT",),
    "HOUSING": ("HOUSING",), "TOUR": ("TOURISM",),
    "CA": ("TELECOM",), "NFRA": ("FINANCE",), "POST": ("POSTAL",),
}
COUNTY_KINDS = ("EEB", "HC", "EDU", "TRANS", "HOUSING", "TOUR")
PROVINCE_KINDS = ("CA", "NFRA", "POST")
KIND_OF_AREA = {area: kind for kind, areas in REMITS.items() for area in areas}

_TITLES = {"AMR": "市场监督管理局", "EEB": "生态环境局", "HC": "卫生健康局", "EDU": "教育局",
           "TRANS": "交通运输局", "HOUSING": "住房和城乡建设局", "TOUR": "文化和旅游局",
           "CA": "通信管理局", "POST": "邮政管理局"}
_GROUPINGS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_OUTSIDE_MAINLAND = frozenset({"71", "81", "82"})
_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)$")


class DirectoryError(ValueError):
    """The directory data (base table or override file) is inconsistent."""


class UnknownAgency(LookupError):
    def __init__(self, agency_id: str):
        super().__init__(f"no agency {agency_id!r} in the directory")
        self.agency_id = agency_id


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    kind: str
    adcode: str
    name: str
    level: str
    parent_id: str | None
    remit: tuple[str, ...]


class Directory:
    def __init__(self, agencies: dict[str, Agency]):
        self._agencies = agencies
        self._children: dict[str, list[Agency]] = {}
        for agency in agencies.values():
            if agency.parent_id:
                self._children.setdefault(agency.parent_id, []).append(agency)

    @classmethod
    def load(cls, override_path: str | os.PathLike | None = None) -> "Directory":
        """The directory, built once per override file and shared afterwards."""
        path = override_path or os.environ.get("TOUSU_DIRECTORY_OVERRIDE") or None
        return _load(str(Path(path).resolve()) if path else None)

    # Agencies --------------------------------------------------------------

    def agency(self, agency_id: str) -> Agency:
        try:
            return self._agencies[agency_id]
        except (KeyError, TypeError):
            raise UnknownAgency(agency_id) from None

    def exists(self, agency_id: str | None) -> bool:
        return agency_id in self._agencies

    def agencies(self, kind: str | None = None) -> Iterator[Agency]:
        return (a for a in self._agencies.values() if kind is None or a.kind == kind)

    # Geography (the AMR bureaus are the map) -------------------------------

    def is_county(self, adcode: str | None) -> bool:
        """Whether county-level bureaus sit here: a county-level division, or a
        prefecture-level city with no county level below it."""
        amr = self._amr(adcode)
        return amr is not None and (amr.level == COUNTY or (amr.level == CITY and amr.id not in self._children))

    def county_amr(self, adcode: str | None) -> str | None:
        return f"AMR-{adcode}" if self.is_county(adcode) else None

    def city_of(self, adcode: str | None) -> str | None:
        """The city-level division containing adcode (divisions.city_of), for a
        place the directory knows; a province is no city unless a municipality."""
        amr = self._amr(adcode)
        if amr is None or (amr.level == PROVINCE and not divisions.is_municipality(adcode)):
            return None
        return divisions.city_of(adcode)

    def province_of(self, adcode: str | None) -> str | None:
        amr = self._amr(adcode)
        return divisions.province_of(adcode) if amr is not None and amr.level != NATIONAL else None

    def competent_agency(self, subject_area: str | None, adcode: str | None) -> str | None:
        """Who handles matters of this area at this place, if the directory has it."""
        kind = KIND_OF_AREA.get(subject_area or "")
        if kind is None:
            return None
        where = self.province_of(adcode) if kind in PROVINCE_KINDS else (adcode if self.is_county(adcode) else None)
        candidate = f"{kind}-{where}" if where else None
        return candidate if candidate in self._agencies else None

    # Chain of command ------------------------------------------------------

    def parent(self, agency_id: str) -> str | None:
        return self.agency(agency_id).parent_id

    def superiors(self, agency_id: str) -> list[str]:
        """Every agency above this one, nearest first."""
        chain, current = [], self.agency(agency_id).parent_id
        while current is not None:
            chain.append(current)
            current = self._agencies[current].parent_id
        return chain

    def is_superior(self, upper: str, lower: str) -> bool:
        return self.exists(lower) and upper in self.superiors(lower)

    def common_superior(self, a: str, b: str) -> str | None:
        """The nearest agency above both (共同的上一级), up to the national
        administration; None when the directory has none (agencies other than AMRs)."""
        above_b = set(self.superiors(b))
        return next((s for s in self.superiors(a) if s in above_b), None)

    def _amr(self, adcode: str | None) -> Agency | None:
        return self._agencies.get(f"AMR-{adcode}") if isinstance(adcode, str) else None


@lru_cache(maxsize=8)
def _load(override_path: str | None) -> Directory:
    agencies = dict(_base_agencies())
    if override_path:
        _apply_override(agencies, override_path)
    return Directory(agencies)


@lru_cache(maxsize=1)
def _base_agencies() -> tuple[tuple[str, Agency], ...]:
    names = _division_names()
    counties = [c for c in names if not c.endswith("00")]
    has_counties = {c[:4] for c in counties}
    agencies: list[Agency] = [Agency(NATIONAL_AMR, "AMR", "100000", "国家市场监督管理总局", NATIONAL, None,
                                     REMITS["AMR"])]
    for adcode, name in names.items():
        province = adcode[:2] + "0000"
        if adcode == province:
            agencies += [_agency(kind, adcode, name, PROVINCE, NATIONAL_AMR if kind == "AMR" else None)
                         for kind in ("AMR", *PROVINCE_KINDS)]
            continue
        city = adcode[:4] + "00"
        if adcode == city:
            agencies.append(_agency("AMR", adcode, name, CITY, f"AMR-{province}"))
            if city[:4] not in has_counties:
                agencies += [_agency(kind, adcode, name, CITY, None) for kind in COUNTY_KINDS]
            continue
        parent = city if city in names else province
        place = names[parent] + name
        agencies.append(_agency("AMR", adcode, place, COUNTY, f"AMR-{parent}"))
        agencies += [_agency(kind, adcode, place, COUNTY, None) for kind in COUNTY_KINDS]
    return tuple((a.id, a) for a in agencies)


def _division_names() -> dict[str, str]:
    """Mainland divisions that have a government, code -> name, from cpca's table
    (read as a file: importing cpca itself loads its address matcher, about a second)."""
    spec = find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise DirectoryError("the cpca package, whose division table the directory is built from, is not installed")
    table = Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"
    with table.open(encoding="utf-8") as rows:
        return {row["adcode"][:6]: row["name"] for row in csv.DictReader(rows)
                if row["name"] not in _GROUPINGS and row["adcode"][:2] not in _OUTSIDE_MAINLAND}


def _agency(kind: str, adcode: str, place: str, level: str, parent_id: str | None) -> Agency:
    if kind == "NFRA":
        name = f"国家金融监督管理总局{_PROVINCE_SUFFIX.sub('', place)}监管局"
    else:
        name = place + _TITLES[kind]
    return Agency(f"{kind}-{adcode}", kind, adcode, name, level, parent_id, REMITS[kind])


def _apply_override(agencies: dict[str, Agency], path: str) -> None:
    try:
        changes = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DirectoryError(f"directory override {path}: {exc}") from None
    for agency_id in changes.get("remove", []):
        if agencies.pop(agency_id, None) is None:
            raise DirectoryError(f"directory override {path}: cannot remove {agency_id}, no such agency")
    for entry in changes.get("add", []):
        agency = _added(entry, path)
        agencies[agency.id] = agency
    for agency_id, name in changes.get("rename", {}).items():
        if agency_id not in agencies:
            raise DirectoryError(f"directory override {path}: cannot rename {agency_id}, no such agency")
        agencies[agency_id] = replace(agencies[agency_id], name=name)
    orphans = sorted(a.id for a in agencies.values() if a.parent_id is not None and a.parent_id not in agencies)
    if orphans:
        missing = sorted({agencies[o].parent_id for o in orphans})
        shown = ", ".join(orphans[:10]) + (f" and {len(orphans) - 10} more" if len(orphans) > 10 else "")
        raise DirectoryError(f"directory override {path}: {shown} would be under {', '.join(missing)}, "
                             "not in the directory")


def _added(entry: dict, path: str) -> Agency:
    agency_id = entry.get("id", "")
    parsed = AgencyId.parse(agency_id)
    if not parsed or parsed.kind not in REMITS:
        raise DirectoryError(f"directory override {path}: {agency_id!r} is not KIND-ADCODE with a known kind")
    kind, adcode = parsed.kind, parsed.adcode
    if entry.get("level") not in LEVELS or not entry.get("name"):
        raise DirectoryError(f"directory override {path}: {agency_id} needs a name and a level in {LEVELS}")
    remit = tuple(entry.get("remit") or REMITS[kind])
    if not set(remit) <= set(KIND_OF_AREA):
        raise DirectoryError(f"directory override {path}: {agency_id} has an unknown subject area in {remit}")
    return Agency(agency_id, kind, adcode, entry["name"], entry["level"], entry.get("parent_id"), remit)
