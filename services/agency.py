"""An example agency system: how another agency integrates over the bus.

It reads its inbox `referrals.<AGENCY_ID>` and answers each referral on
`referrals.replies`, acknowledging it, or declining it (optionally suggesting
another agency). A real agency system does the same with its own Kafka client
and Avro library; all it needs is the files in schemas/."""
from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.bus.codec import CodecError, default_codec
from services.bus.settings import kafka_security
from services.bus.topics import referral_inbox
from services.ids import derive_id


def answer(referral: dict, agency_id: str, decline: str | None, suggest: str | None) -> tuple[str, dict]:
    base = {"event_id": str(derive_id("agency", agency_id, referral["referral_id"])),
            "occurred_at": datetime.now(timezone.utc), "complaint_id": referral["complaint_id"],
            "referral_id": referral["referral_id"], "agency_id": agency_id}
    if decline:
        return "ReferralDeclined", {**base, "reason": decline, "suggested_agency_id": suggest}
    return "ReferralAcknowledged", {**base, "note": "已接收，依职责处理"}


async def serve(bootstrap: str, agency_id: str, *, decline: str | None = None, suggest: str | None = None,
                follow: bool = True, out=sys.stdout) -> int:
    """Answer every referral in the inbox not answered before, then (following)
    each new one. Progress is the consumer group `AGENCY_ID`'s committed offset,
    moved on only after the broker took the answer: a second run answers nothing
    twice, and a run cut short resumes where it stopped."""
    codec = default_codec()
    inbox = referral_inbox(agency_id)
    # Assigned, not subscribed: the group only keeps the offsets, so no join to wait for.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=agency_id, enable_auto_commit=False,
                                auto_offset_reset="earliest", **kafka_security())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, **kafka_security())
    answered = 0
    try:
        await consumer.start()
        await producer.start()
        # Listing every topic names none: a broker may create a topic it is asked about by name.
        while inbox not in await consumer.topics():
            if not follow:
                return 0  # nothing was ever referred to this agency
            await asyncio.sleep(2)
        tps = [TopicPartition(inbox, p) for p in sorted(consumer.partitions_for_topic(inbox) or ())]
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        while True:
            batch = await consumer.getmany(*tps, timeout_ms=1000)
            if not batch and not follow and await _caught_up(consumer, tps, end):
                return answered
            for tp, messages in batch.items():
                for message in messages:
                    try:
                        record_type, referral = codec.decode(message.value)
                    except CodecError as exc:
                        # Not a referral anyone could answer: said, and passed, so one
                        # bad message does not hold the inbox up for good.
                        print(f"{agency_id}: {tp.topic}/{tp.partition} offset {message.offset} skipped: {exc}",
                              file=sys.stderr)
                        await consumer.commit({tp: message.offset + 1})
                        continue
                    if record_type == "ReferralIssued" and referral["to_agency_id"] == agency_id:
                        await _reply(producer, codec, referral, agency_id, decline, suggest, out, message.offset)
                        answered += 1
                    await consumer.commit({tp: message.offset + 1})
    finally:
        await producer.stop()
        await consumer.stop()


async def _caught_up(consumer, tps, end) -> bool:
    for tp in tps:
        if await consumer.position(tp) < end[tp]:
            return False
    return True


async def _reply(producer, codec, referral: dict, agency_id: str, decline, suggest, out, position: int) -> None:
    """`position`: the referral's offset in the inbox, the order this system answers in
    (the contract's headers are on every message, an agency's too)."""
    reply_type, reply = answer(referral, agency_id, decline, suggest)
    await producer.send_and_wait("referrals.replies", codec.encode(reply_type, reply),
                                 key=referral["complaint_id"].encode(),
                                 headers=[("event_id", reply["event_id"].encode()),
                                          ("event_type", reply_type.encode()),
                                          ("source", agency_id.encode()), ("position", str(position).encode())])
    print(json.dumps({"referral_id": referral["referral_id"], "complaint_id": referral["complaint_id"],
                      "subject_area": referral["subject_area"], "answer": reply_type},
                     ensure_ascii=False), file=out, flush=True)
