"""Agency ids, `KIND-ADCODE`, as a parsed value: the one place an id is split."""
from __future__ import annotations

import re
from dataclasses import dataclass

_AGENCY_ID = re.compile(r"^([A-Z]+)-([0-9]{6})\Z")  # \Z: a trailing newline is no part of an id


@dataclass(frozen=True, slots=True)
class AgencyId:
    kind: str
    adcode: str

    @classmethod
    def parse(cls, text: str | None) -> "AgencyId | None":
        """The id's parts, or None for anything that is not `KIND-ADCODE`."""
        match = _AGENCY_ID.match(text) if isinstance(text, str) else None
        return cls(match[1], match[2]) if match else None

    def __str__(self) -> str:
        return f"{self.kind}-{self.adcode}"


def adcode_of(agency_id: str | None) -> str | None:
    """The division code an agency serves; None for what is not an agency id."""
    parsed = AgencyId.parse(agency_id)
    return parsed.adcode if parsed else None
