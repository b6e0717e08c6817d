"""The audit chain: one AuditRecord per stored domain event, hash-chained per service.

Records are derived from a service's notification log alone (`seq` is the
notification id), so republishing yields byte-identical records. A regulator
verifies the chain from the topic with nothing but this rule:

    hash = sha256(prev_hash + canonical_json(record without "hash")).hexdigest()

where canonical_json is JSON with sorted keys, no spaces, UTF-8, and
`occurred_at` as integer milliseconds since the epoch, leaving out the fields
added since the first records were written (LATER) when they are null; the
first record of a service has prev_hash "0" * 64.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

GENESIS = "0" * 64
# Fields the record gained later: left out while null, so the records written
# before them hash as they did.
LATER = ("actor_person",)


def millis(value) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp() * 1000)
    return int(value)


def canonical_bytes(record: dict) -> bytes:
    body = {k: v for k, v in record.items() if k != "hash" and not (k in LATER and v is None)}
    body["occurred_at"] = millis(body["occurred_at"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(record: dict) -> str:
    return hashlib.sha256(record["prev_hash"].encode("ascii") + canonical_bytes(record)).hexdigest()


def describes(record: dict, notification) -> bool:
    """Whether an audit record is the one its service's relay writes for this
    stored event: its type, aggregate and version, and its payload's hash."""
    return (record["event_type"] == notification.topic.rsplit(":", 1)[-1]
            and record["aggregate_id"] == str(notification.originator_id)
            and record["aggregate_version"] == notification.originator_version
            and record["payload_sha256"] == hashlib.sha256(notification.state).hexdigest())


def audit_record(*, service: str, seq: int, event_id: str, event_type: str, aggregate_id: str,
                 aggregate_version: int, occurred_at: datetime, payload: bytes,
                 complaint_id: str | None, prev_hash: str, actor_agency_id: str | None = None,
                 actor_role: str | None = None, actor_person: str | None = None) -> dict:
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
        "actor_person": actor_person,
    }
    record["hash"] = chain_hash(record)
    return record


@dataclass
class ChainState:
    last_seq: int | None = None
    last_hash: str = GENESIS
    seen: dict[int, str] = field(default_factory=dict)
    records: int = 0
    # Each seq's record, for a check against the service's own store.
    by_seq: dict[int, dict] = field(default_factory=dict)


INTACT, MISSING, TAMPERED = "intact", "history missing", "altered or forked"


@dataclass
class Verdict:
    ok: bool
    records: int
    duplicates: int
    problem: str | None = None
    chains: dict[str, ChainState] = field(default_factory=dict)
    # INTACT, MISSING (the broker lost records: republish them) or TAMPERED.
    kind: str = INTACT
    # With MISSING: per service, the first seq to publish again.
    republish_from: dict[str, int] = field(default_factory=dict)


def verify(records) -> Verdict:
    """Check each service's chain in `seq` order, whatever order the records
    reached the topic in. An identical repeat is a duplicate (a republish). A
    record whose hash does not match its content, two different records with
    one seq, or a record that follows a present record other than the one it
    names is tampering; a record whose predecessor is absent is missing history
    (seq may skip on PostgreSQL, so the linkage decides, not the numbering)."""
    by_service: dict[str, dict[int, dict]] = {}
    count = duplicates = 0
    for record in records:
        count += 1
        service, seq = record["service"], record["seq"]
        name = f"{service} seq {seq} ({record['event_type']})"
        if chain_hash(record) != record["hash"]:
            return Verdict(False, count, duplicates, f"{name}: altered (its hash does not match its content)",
                           kind=TAMPERED)
        chain = by_service.setdefault(service, {})
        if seq in chain:
            if chain[seq]["hash"] == record["hash"]:
                duplicates += 1
                continue
            return Verdict(False, count, duplicates, f"{name}: differs from another record with that seq (a fork)",
                           kind=TAMPERED)
        chain[seq] = record
    chains: dict[str, ChainState] = {}
    missing: dict[str, int] = {}
    problems: list[str] = []
    for service in sorted(by_service):
        state = chains[service] = ChainState()
        hashes = {r["hash"]: seq for seq, r in by_service[service].items()}
        for seq in sorted(by_service[service]):
            record = by_service[service][seq]
            name = f"{service} seq {seq} ({record['event_type']})"
            if record["prev_hash"] != state.last_hash:
                if record["prev_hash"] in hashes:
                    return Verdict(False, count, duplicates, f"{name}: follows seq {hashes[record['prev_hash']]}, "
                                   f"not the record before it (seq {state.last_seq}): altered or forked",
                                   chains, kind=TAMPERED)
                if state.last_seq is not None and seq == state.last_seq + 1 and record["prev_hash"] != GENESIS:
                    return Verdict(False, count, duplicates, f"{name}: does not follow seq {state.last_seq}, the "
                                   "record just before it: one of them was altered", chains, kind=TAMPERED)
                if service not in missing:
                    first = 1 if state.last_seq is None else state.last_seq + 1
                    missing[service] = first
                    after = f"after seq {state.last_seq}" if state.last_seq is not None else "of the chain's start"
                    problems.append(f"{name}: the records before it ({after}) are missing; the broker lost "
                                    f"them: tousu republish {service} --from {first}")
            state.seen[seq] = record["hash"]
            state.by_seq[seq] = record
            state.last_seq, state.last_hash = seq, record["hash"]
            state.records += 1
    if missing:
        return Verdict(False, count, duplicates, "; ".join(problems), chains, kind=MISSING, republish_from=missing)
    return Verdict(True, count, duplicates, None, chains)
