"""The status of a complaint as the public contract names it (CONTRACT.md:
`GET /complaints/{id}`, PublicComplaintUpdate on `public.complaints`), and the
one way a public update is written. Every service and read model that shows a
status takes it from here."""
from __future__ import annotations

from services.bus.messages import Outgoing

STATUSES = ("RECEIVED", "ACCEPTED", "REJECTED", "REFERRED", "TRANSFERRED", "IN_MEDIATION", "AGREED",
            "TERMINATED", "CLOSED")

# Status only moves forward: topics are consumed in parallel, so a mediation
# event can arrive before the acceptance that caused it; the furthest status
# any fact reached is the complaint's.
STATUS_RANK = {
    "RECEIVED": 0, "TRANSFERRED": 1, "ACCEPTED": 2, "REJECTED": 2, "REFERRED": 2,
    "IN_MEDIATION": 3, "AGREED": 4, "TERMINATED": 4, "CLOSED": 5,
}


def ended(reason: str | None, before_opening: bool | None = None) -> str:
    """The status a mediation's termination leaves: TERMINATED, the ground in
    its reason; a complaint withdrawn before its mediation opened is CLOSED
    (DOMAIN.md: "the complaint is then closed"). A termination recorded before
    the two were told apart (`before_opening` None) closed on any withdrawal."""
    if reason == "WITHDRAWN" and before_opening is not False:
        return "CLOSED"
    return "TERMINATED"


def public_update(complaint_id: str, respondent: dict | None, subject_area: str | None, city_adcode: str | None,
                  status: str, outcome: str | None, received_on: str | None, decided_on: str | None) -> Outgoing:
    """A PublicComplaintUpdate: never a consumer's name, phone, id number,
    address or free text, and no place finer than a city."""
    respondent = respondent or {}
    return Outgoing("public.complaints", complaint_id, "PublicComplaintUpdate", {
        "complaint_id": complaint_id,
        "respondent_name": respondent.get("name"), "respondent_uscc": respondent.get("uscc"),
        "subject_area": subject_area, "city_adcode": city_adcode, "status": status, "outcome": outcome,
        "received_on": received_on, "decided_on": decided_on,
    })
