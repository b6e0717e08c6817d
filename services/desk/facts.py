"""What the desk keeps from each record: the whole record, as JSON, filed
under the complaint (or penalty case) it concerns. A complaint's file is its
history; the rows the desk lists are derived from its files alone."""
from __future__ import annotations

import base64
from datetime import date, datetime, timezone

# Not referrals.replies: what an agency writes there is its word until routing
# has checked it, and routing's ReferralAnswered (complaints.decisions) says so.
INPUTS = ("complaints.received", "complaints.decisions", "mediation.events", "enforcement.cases",
          "violations.found")

CASE_RECORDS = ("PenaltyCaseOpened", "CaseFilingDeclined", "InvestigationStarted", "PenaltyDecided",
                "PenaltyCaseClosed", "PenaltyCaseComplaintLinked", "PenaltyCaseCheckExtended")


def complaint_file(complaint_id: str) -> str:
    return f"complaint/{complaint_id}"


def case_file(case_id: str) -> str:
    return f"case/{case_id}"


def jsonable(value):
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def facts_of(record_type: str, record: dict) -> list[tuple[str, dict]]:
    """(file, fact) pairs one record adds. A penalty case's records go to its
    own file and, as links, to the files of the complaints it names."""
    fact = {"type": record_type, **jsonable(record)}
    if record_type not in CASE_RECORDS:
        return [(complaint_file(record["complaint_id"]), fact)]
    pairs = [(case_file(record["case_id"]), fact)]
    linked = [*(record.get("complaint_ids") or ()), *(record.get("reports_closed") or ())]
    if record_type in ("PenaltyCaseComplaintLinked", "CaseFilingDeclined", "PenaltyCaseClosed"):
        # The complaint it names: a report's life ends with its case.
        linked.append(record["complaint_id"])
    for complaint_id in dict.fromkeys(linked):
        pairs.append((complaint_file(complaint_id), fact))
    return pairs
