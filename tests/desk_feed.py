"""Records for the desk, produced the way the topics carry them: Avro bytes
with the writer's headers, through the desk's own batch processor (or onto a
real broker, for tests that run the whole system)."""
from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor
from services.bus.messages import Inbound
from tests.examples import EXAMPLES
from tests.factories import make_uscc

WRITERS = {"complaints.received": "intake", "complaints.decisions": "routing", "mediation.events": "mediation",
           "enforcement.cases": "enforcement", "referrals.replies": "agencies", "violations.found": "mediation"}
TOPIC_OF = {"ComplaintReceived": "complaints.received", "ReportReceived": "complaints.received",
            "ConsultationReceived": "complaints.received", "ReferralAcknowledged": "referrals.replies",
            "ReferralDeclined": "referrals.replies", "ViolationFound": "violations.found"}
for _t in ("ComplaintAccepted", "ComplaintRejected", "ComplaintReferred", "ComplaintTransferred", "DecisionOverdue",
           "ReferralAnswered"):
    TOPIC_OF[_t] = "complaints.decisions"
for _t in ("MediationOpened", "ConsentRecorded", "MediationScheduled", "MediatorRecused", "AppraisalStarted",
           "AppraisalCompleted", "MediationAgreed", "MediationTerminated"):
    TOPIC_OF[_t] = "mediation.events"
for _t in ("PenaltyCaseOpened", "CaseFilingDeclined", "InvestigationStarted", "PenaltyDecided", "PenaltyCaseClosed",
           "PenaltyCaseComplaintLinked", "PenaltyCaseCheckExtended"):
    TOPIC_OF[_t] = "enforcement.cases"

START = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)


class Feed:
    """Builds records from EXAMPLES with the fields a test names, as messages."""

    def __init__(self):
        self.codec = default_codec()
        self.positions = defaultdict(itertools.count)
        self.ids = itertools.count(1)

    def message(self, record_type: str, **fields) -> Inbound:
        topic = TOPIC_OF[record_type]
        record = {**EXAMPLES[record_type], "event_id": f"ev-{next(self.ids)}", **fields}
        position = next(self.positions[topic]) + 1
        headers = {"source": WRITERS[topic].encode(), "position": str(position).encode(),
                   "event_type": record_type.encode(), "event_id": record["event_id"].encode()}
        key = (record.get("case_id") if topic == "enforcement.cases" else record["complaint_id"]).encode()
        return Inbound(topic, 0, position, key, self.codec.encode(record_type, record), headers)

    def complaint(self, cid: str, agency: str = "AMR-310115", at: datetime = START, seed: int = 1,
                  name: str | None = None, accepted: bool = True, mediation: bool = True, **received) -> list[Inbound]:
        """A complaint received, accepted by `agency` and in mediation there."""
        respondent = {**EXAMPLES["ComplaintReceived"]["respondent"], "uscc": make_uscc(seed),
                      "name": name or f"某某商贸有限公司{seed}"}
        messages = [self.message("ComplaintReceived", complaint_id=cid, occurred_at=at, receiving_agency_id=agency,
                                 respondent=respondent, **received)]
        if accepted:
            messages.append(self.message("ComplaintAccepted", complaint_id=cid, agency_id=agency, occurred_at=at,
                                         decided_at=at, decision_due=at + timedelta(days=9), received_at=at,
                                         respondent={"name": respondent["name"], "uscc": respondent["uscc"]}))
        if accepted and mediation:
            messages.append(self.message("MediationOpened", complaint_id=cid, agency_id=agency, occurred_at=at,
                                         accepted_at=at, mediation_due=at + timedelta(days=60)))
        return messages


def feed(app, messages: list[Inbound]):
    """Through the desk's batch processor, as the running service would."""
    from services.desk.spec import SPEC

    return BatchProcessor(app, SPEC.handler(app), default_codec()).process(messages)
