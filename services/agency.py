"""An example agency system: how another agency integrates over the bus.

It reads its inbox `referrals.<AGENCY_ID>` and answers each referral on
`referrals.replies`, acknowledging it, or declining it (optionally suggesting
another agency). A real agency system does the same with its own Kafka client
and Avro library; all it needs is the files in schemas/."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

from aiokafka import AIOKafkaProducer

from services.bus.codec import default_codec
from services.bus.reader import read_topic
from services.bus.settings import kafka_security
from services.bus.store import derive_id
from services.bus.topics import referral_inbox


def answer(referral: dict, agency_id: str, decline: str | None, suggest: str | None) -> tuple[str, dict]:
    base = {"event_id": str(derive_id("agency", agency_id, referral["referral_id"])),
            "occurred_at": datetime.now(timezone.utc), "complaint_id": referral["complaint_id"],
            "referral_id": referral["referral_id"], "agency_id": agency_id}
    if decline:
        return "ReferralDeclined", {**base, "reason": decline, "suggested_agency_id": suggest}
    return "ReferralAcknowledged", {**base, "note": "已接收，依职责处理"}


async def serve(bootstrap: str, agency_id: str, *, decline: str | None = None, suggest: str | None = None,
                follow: bool = True, out=sys.stdout) -> int:
    codec = default_codec()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, **kafka_security())
    await producer.start()
    answered = 0
    try:
        async for message in read_topic(bootstrap, referral_inbox(agency_id), from_beginning=True, follow=follow):
            record_type, referral = codec.decode(message.value)
            if record_type != "ReferralIssued" or referral["to_agency_id"] != agency_id:
                continue
            reply_type, reply = answer(referral, agency_id, decline, suggest)
            await producer.send_and_wait("referrals.replies", codec.encode(reply_type, reply),
                                         key=referral["complaint_id"].encode(),
                                         headers=[("event_id", reply["event_id"].encode()),
                                                  ("event_type", reply_type.encode()),
                                                  ("source", agency_id.encode())])
            answered += 1
            print(json.dumps({"referral_id": referral["referral_id"], "complaint_id": referral["complaint_id"],
                              "subject_area": referral["subject_area"], "answer": reply_type},
                             ensure_ascii=False), file=out, flush=True)
    finally:
        await producer.stop()
    return answered
