from datetime import datetime, timedelta, timezone

import random

from services.bus.audit import GENESIS, MISSING, TAMPERED, audit_record, verify


def chain(n, service="routing", step=2):
    records, prev = [], GENESIS
    start = datetime(2026, 3, 2, tzinfo=timezone.utc)
    for seq in range(1, n + 1):
        record = audit_record(service=service, seq=seq * step, event_id=f"e{seq}", event_type="Complaint.Accepted",
                              aggregate_id="a", aggregate_version=seq, occurred_at=start + timedelta(seconds=seq),
                              payload=f"payload {seq}".encode(), complaint_id=f"c{seq}", prev_hash=prev)
        records.append(record)
        prev = record["hash"]
    return records


def test_an_intact_chain_verifies_even_with_gaps_in_seq():
    verdict = verify(chain(5))
    assert verdict.ok and verdict.records == 5


def test_identical_repeats_are_duplicates_not_tampering():
    records = chain(5)
    verdict = verify(records[:4] + records[1:3] + records[4:])
    assert verdict.ok and verdict.duplicates == 2


def test_an_altered_record_is_named():
    records = chain(5)
    records[2] = dict(records[2], complaint_id="someone-else")
    verdict = verify(records)
    assert not verdict.ok
    assert "routing seq 6" in verdict.problem and "altered" in verdict.problem


def test_a_missing_record_is_named():
    records = chain(5)
    verdict = verify(records[:2] + records[3:])
    assert not verdict.ok and "routing seq 8" in verdict.problem and "missing" in verdict.problem


def test_an_honest_stream_in_any_order_verifies():
    records = chain(30, step=1) + chain(20, "mediation", step=1)
    shuffled = records + records[5:9]
    random.Random(7).shuffle(shuffled)
    verdict = verify(shuffled)
    assert verdict.ok and verdict.records == 54 and verdict.duplicates == 4
    assert verdict.chains["routing"].last_seq == 30


def test_dropped_records_are_missing_history_with_where_to_republish_from():
    records = chain(10, step=1)
    verdict = verify(records[:3] + records[6:])
    assert verdict.kind == MISSING and verdict.republish_from == {"routing": 4}
    assert "tousu republish routing --from 4" in verdict.problem
    lost_start = verify(records[2:])
    assert lost_start.kind == MISSING and lost_start.republish_from == {"routing": 1}


def test_an_altered_record_is_tampering_not_missing_history():
    records = chain(5, step=1)
    records[2] = dict(records[2], complaint_id="someone-else")
    assert verify(records).kind == TAMPERED


def test_two_different_records_with_one_seq_are_a_fork():
    records = chain(5, step=1)
    other = audit_record(**{k: records[2][k] for k in ("service", "seq", "event_id", "event_type", "aggregate_id",
                                                      "aggregate_version", "occurred_at", "complaint_id", "prev_hash")},
                         payload=b"another")
    verdict = verify(records + [other])
    assert verdict.kind == TAMPERED and "routing seq 3" in verdict.problem and "fork" in verdict.problem


def test_a_rehashed_record_between_its_neighbours_is_tampering():
    records = chain(5, step=1)
    forged = audit_record(**{k: records[2][k] for k in ("service", "seq", "event_id", "event_type", "aggregate_id",
                                                       "aggregate_version", "occurred_at", "complaint_id", "prev_hash")},
                          payload=b"forged")
    verdict = verify(records[:2] + [forged] + records[3:])
    assert verdict.kind == TAMPERED and "routing seq 4" in verdict.problem


def test_a_rehashed_forgery_breaks_the_linkage():
    records = chain(5)
    forged = audit_record(**{k: records[2][k] for k in ("service", "seq", "event_id", "event_type", "aggregate_id",
                                                       "aggregate_version", "occurred_at", "complaint_id", "prev_hash")},
                          payload=b"forged")
    verdict = verify(records[:2] + [forged] + records[3:])
    assert not verdict.ok and "routing seq 8" in verdict.problem


def test_chains_of_different_services_interleave():
    a, b = chain(3, "routing"), chain(3, "mediation")
    assert verify([a[0], b[0], a[1], b[1], b[2], a[2]]).ok


def test_a_record_written_before_the_person_was_recorded_keeps_its_hash():
    # Chains published before actor_person existed decode with it null; the
    # hash leaves a null later field out, so they verify as they always did.
    import hashlib
    import json

    [record] = chain(1)
    older = {k: v for k, v in record.items() if k not in ("hash", "actor_person")}
    older["occurred_at"] = int(older["occurred_at"].timestamp() * 1000)
    written_then = hashlib.sha256(GENESIS.encode() + json.dumps(
        older, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert record["actor_person"] is None and record["hash"] == written_then
    assert verify([record]).ok


def test_the_person_who_acted_is_in_the_hash():
    [record] = chain(1)
    named = audit_record(**{k: record[k] for k in ("service", "seq", "event_id", "event_type", "aggregate_id",
                                                  "aggregate_version", "occurred_at", "complaint_id", "prev_hash")},
                         payload=b"payload 1", actor_person="王芳")
    assert named["hash"] != record["hash"] and verify([named]).ok
    assert not verify([{**named, "actor_person": "李雷"}]).ok
