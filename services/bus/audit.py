"""The audit chain: one AuditRecord per stored domain event, hash-chained per service.

Records are derived from a service's notification log alone (`seq` is the
notification id), so republishing yields byte-identical records. A regulator
verifies the chain from the topic with nothing but this rule:

    hash = sha256(prev_hash + canonical_json(record without "hash")).hexdigest()

where canonical_json is JSON with sorted keys, no spaces, UTF-8, and
`occurred_at` as integer milliseconds since the epoch; the first record of a
service has prev_hash "0" * 64.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

GENESIS = "0" * 64


def millis(value) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp() * 1000)
    return int(value)


def canonical_bytes(record: dict) -> bytes:
    body = {k: v for k, v in record.items() if k != "hash"}
    body["occurred_at"] = millis(body["occurred_at"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(record: dict) -> str:
    return hashlib.sha256(record["prev_hash"].encode("ascii") + canonical_bytes(record)).hexdigest()


def audit_record(*, service: str, seq: int, event_id: str, event_type: str, aggregate_id: str,
                 aggregate_version: int, occurred_at: datetime, payload: bytes,
                 complaint_id: str | None, prev_hash: str, actor_agency_id: str | None = None,
                 actor_role: str | None = None) -> dict:
    record = {
        "event_id": event_id,
        "occurred_at": datetime.fromtimestamp(millis(occurred_at) / 1000, timezone.utc),
        "complaint_id": complaint_id,
        "service": service,
        "seq": seq,
        "event_type": event_type,
        "aggregate_id": aggregate_id,
        "aggregate_version": aggregate_version,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "prev_hash": prev_hash,
        "actor_agency_id": actor_agency_id,
        "actor_role": actor_role,
    }
    record["hash"] = chain_hash(record)
    return record


@dataclass
class ChainState:
    last_seq: int | None = None
    last_hash: str = GENESIS
    seen: dict[int, str] = field(default_factory=dict)
    records: int = 0


@dataclass
class Verdict:
    ok: bool
    records: int
    duplicates: int
    problem: str | None = None
    chains: dict[str, ChainState] = field(default_factory=dict)


def verify(records) -> Verdict:
    """Check records in topic order. An identical repeat of a record already
    seen is a duplicate (a republish); anything else that breaks the linkage is
    reported, naming the first bad record."""
    chains: dict[str, ChainState] = {}
    count = duplicates = 0
    for record in records:
        count += 1
        service, seq = record["service"], record["seq"]
        chain = chains.setdefault(service, ChainState())
        name = f"{service} seq {seq} ({record['event_type']})"
        if chain_hash(record) != record["hash"]:
            return Verdict(False, count, duplicates, f"{name}: altered (its hash does not match its content)", chains)
        if seq in chain.seen:
            if chain.seen[seq] == record["hash"]:
                duplicates += 1
                continue
            return Verdict(False, count, duplicates, f"{name}: differs from the record already seen with that seq", chains)
        if chain.last_seq is not None and seq < chain.last_seq:
            return Verdict(False, count, duplicates, f"{name}: out of order (after seq {chain.last_seq})", chains)
        if record["prev_hash"] != chain.last_hash:
            after = f"seq {chain.last_seq}" if chain.last_seq is not None else "the start of the chain"
            return Verdict(False, count, duplicates, f"{name}: does not follow {after}; a record is missing or out of order", chains)
        chain.seen[seq] = record["hash"]
        chain.last_seq, chain.last_hash = seq, record["hash"]
        chain.records += 1
    return Verdict(True, count, duplicates, None, chains)
