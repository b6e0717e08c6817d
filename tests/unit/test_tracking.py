"""Exactly-once effects: the batch processor against an in-memory store."""
import logging

import pytest
from eventsourcing.domain import Aggregate, event

from services.bus.codec import default_codec
from services.bus.consumed import fingerprint
from services.bus.consumer import BatchProcessor
from services.bus.deadletters import DeadLetter
from services.bus.messages import Inbound
from services.bus.store import ServiceApplication
from services.ids import derive_id
from tests.examples import EXAMPLES


class Seen(Aggregate):
    @staticmethod
    def create_id(complaint_id):
        return derive_id("seen", complaint_id)

    @event("Noted")
    def __init__(self, complaint_id):
        self.complaint_id = complaint_id
        self.count = 1

    @event("NotedAgain")
    def again(self):
        self.count += 1


def handle(uow, item):
    if item.record["facts"] == "refuse me":
        raise ValueError("cannot act on this complaint")
    cid = item.record["complaint_id"]
    seen = uow.get(Seen.create_id(cid))
    if seen is None:
        uow.add(Seen(cid))
    else:
        seen.again()


@pytest.fixture(params=["popo", "sqlite", "postgres"])
def app(request, tmp_path):
    """What is consumed is written by SQL of each store's own dialect: each is run."""
    if request.param == "popo":
        return ServiceApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    from tests.conftest import persistence_env
    from services.bus.settings import StoreSettings
    env = persistence_env(request.param, tmp_path)
    return ServiceApplication(env=StoreSettings(tmp_path, env).for_service("tracking"))


def message(cid, position, partition=0, offset=None, facts="ok", source="intake"):
    # As the relay does: one event id per source event, the same on every delivery.
    event_id = str(derive_id(source, position, cid))
    value = default_codec().encode("ComplaintReceived", dict(EXAMPLES["ComplaintReceived"], complaint_id=cid,
                                                             facts=facts, event_id=event_id))
    headers = {"source": source.encode(), "position": str(position).encode(), "event_type": b"ComplaintReceived",
               "event_id": event_id.encode()}
    return Inbound("complaints.received", partition, position if offset is None else offset, cid.encode(), value, headers)


def moved(m, offset):
    """The same message at another offset: a republish, or a refilled broker."""
    return Inbound(m.topic, m.partition, offset, m.key, m.value, m.headers)


def counts(app, cid):
    return app.repository.get(Seen.create_id(cid)).count


def test_a_redelivered_batch_has_no_second_effect(app):
    processor = BatchProcessor(app, handle, default_codec())
    batch = [message(f"c{i}", i) for i in range(1, 6)]
    first = processor.process(batch)
    second = processor.process(batch)
    assert (first.handled, second.handled, second.skipped) == (5, 0, 5)
    assert all(counts(app, f"c{i}") == 1 for i in range(1, 6))
    assert app.recorder.max_tracking_id("intake/complaints.received/0") == 5


def test_position_zero_is_tracked_too(app):
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message("c0", 0)])
    assert processor.process([message("c0", 0)]).skipped == 1
    assert counts(app, "c0") == 1


def test_partitions_are_tracked_separately(app):
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message("a", 3, partition=0), message("b", 3, partition=1), message("c", 4, partition=1)])
    assert counts(app, "a") == counts(app, "b") == counts(app, "c") == 1
    marks = app.recorder.consumed.marks()
    assert (marks[("complaints.received", 0)].next_offset, marks[("complaints.received", 1)].next_offset) == (4, 5)


def test_a_message_from_a_service_that_does_not_write_the_topic_is_a_dead_letter(app):
    processor = BatchProcessor(app, handle, default_codec())
    forged = message("f", 7, source="mediation")
    unsigned = Inbound("complaints.received", 0, 8, b"u", message("u", 8).value, {})
    result = processor.process([forged, unsigned, message("ok", 9)])
    assert (result.handled, result.dead) == (1, 2)
    letters = [app.repository.get(n.originator_id) for n in app.recorder.select_notifications(0, 100)
               if "DeadLetter" in n.topic]
    assert sorted(letter.error.split(" is not")[0] for letter in letters) == ["source 'mediation'", "source None"]


def test_an_event_seen_before_is_skipped_at_any_offset(app):
    processor = BatchProcessor(app, handle, default_codec())
    batch = [message(f"d{i}", i) for i in range(3)]
    processor.process(batch)
    # Republished after the first three: the same events at new offsets.
    result = processor.process([moved(m, 3 + i) for i, m in enumerate(batch)])
    assert (result.handled, result.skipped) == (0, 3)
    assert all(counts(app, f"d{i}") == 1 for i in range(3))


def test_an_unseen_event_below_the_tracked_position_is_handled(app):
    # A broker refilled by republishing: a new message arrived before the history.
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message("new", 50, offset=0)])
    result = processor.process([message("old", 40, offset=1), message("older", 41, offset=2)])
    assert result.handled == 2
    assert counts(app, "old") == counts(app, "older") == counts(app, "new") == 1
    assert app.recorder.max_tracking_id("intake/complaints.received/0") == 50


def test_a_run_that_would_skip_unread_messages_is_refused_and_nothing_is_stored(app):
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message("a", 1, offset=0)])
    [refused] = processor.process([message("b", 2, offset=5)]).refused
    assert (refused.tp, refused.expected, refused.got) == (("complaints.received", 0), 1, 5)
    assert app.repository.get(Seen.create_id("a")).count == 1
    assert not any(n.originator_id == Seen.create_id("b") for n in app.recorder.select_notifications(0, 100))
    # Sought back to where the store stands, the same run goes through.
    assert processor.process([message("x", 3, offset=1), message("b", 2, offset=2)]).handled == 2


def test_a_partition_restarted_on_a_new_log_takes_its_first_run_and_anchors_it(app):
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message("a", 1, offset=0), message("b", 2, offset=1)])
    app.recorder.consumed.restart_at(("complaints.received", 0), 0)
    first = message("c", 3, offset=0)
    assert processor.process([first, moved(message("a", 1), 1)]).handled == 1
    mark = app.recorder.consumed.mark(("complaints.received", 0))
    assert (mark.next_offset, mark.anchor_offset, mark.anchor_fingerprint) == (2, 0, fingerprint(first.value))


def test_older_positions_after_a_newer_one_are_skipped(app):
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message("x", 10)])
    result = processor.process([message("x", 9), message("x", 10), message("x", 11)])
    assert (result.handled, result.skipped) == (1, 2)
    assert counts(app, "x") == 2


def test_undecodable_bytes_become_dead_letters_and_the_rest_goes_on(app, caplog):
    processor = BatchProcessor(app, handle, default_codec())
    garbage = Inbound("complaints.received", 0, 2, None, b"\x00not avro at all", {})
    with caplog.at_level(logging.WARNING, "services.bus.consumer"):
        result = processor.process([message("g1", 1), garbage, message("g2", 3)])
    assert (result.handled, result.dead) == (2, 1)
    letter = app.repository.get(DeadLetter.create_id("complaints.received", 0, 2, "AG5vdCBhdnJvIGF0IGFsbA=="))
    assert "marker" in letter.error
    # The operator's log says so, where and why, once.
    [said] = [r.getMessage() for r in caplog.records if "dead-lettering" in r.getMessage()]
    assert "complaints.received/0 offset 2" in said and "marker" in said
    assert processor.process([garbage]).dead == 0  # the same message again: one dead letter only


def test_a_message_the_handler_refuses_is_dead_lettered_at_its_position(app):
    processor = BatchProcessor(app, handle, default_codec())
    result = processor.process([message("r1", 1), message("r2", 2, facts="refuse me"), message("r3", 3)])
    assert (result.handled, result.dead) == (2, 1)
    assert counts(app, "r1") == counts(app, "r3") == 1
    assert app.recorder.max_tracking_id("intake/complaints.received/0") == 3
    letters = [n for n in app.recorder.select_notifications(0, 100) if "DeadLetter" in n.topic]
    assert len(letters) == 1


def test_a_record_on_the_wrong_topic_is_a_dead_letter(app):
    processor = BatchProcessor(app, handle, default_codec())
    value = default_codec().encode("ComplaintAccepted", EXAMPLES["ComplaintAccepted"])
    wrong = Inbound("complaints.received", 0, 5, None, value, {"source": b"intake", "position": b"5"})
    assert processor.process([wrong]).dead == 1


def test_another_log_below_the_stored_offset_is_refused_not_skipped(app):
    # The broker refilled: its offsets 0.. hold other messages than those read.
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message(f"old{i}", i, offset=i) for i in range(3)])
    refilled = [message("new0", 10, offset=0), message("new1", 11, offset=1)]
    [refused] = processor.process(refilled).refused
    assert refused.got == 0
    assert not any(n.originator_id == Seen.create_id("new0") for n in app.recorder.select_notifications(0, 100))


def test_a_refusal_after_a_repeated_event_still_has_one_effect(app):
    processor = BatchProcessor(app, handle, default_codec())
    twice = message("t", 1, offset=0)
    result = processor.process([twice, moved(twice, 1), message("r", 2, offset=2, facts="refuse me"),
                                message("after", 3, offset=3)])
    assert (result.handled, result.skipped, result.dead) == (2, 1, 1)
    assert counts(app, "t") == 1 and counts(app, "after") == 1


def test_every_message_also_carries_the_cloudevents_kafka_binding_headers():
    from datetime import datetime, timezone

    from services.bus.relay import cloudevents
    headers = dict(cloudevents("e-1", "ComplaintAccepted", "routing", datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)))
    assert headers == {"ce_specversion": b"1.0", "ce_id": b"e-1", "ce_type": b"ComplaintAccepted",
                       "ce_source": b"/tousu/routing", "ce_time": b"2026-12-02T08:00:00.000Z",
                       "content-type": b"application/avro"}


def test_workers_of_one_service_starting_together_on_a_new_schema_all_start(tmp_path):
    # Scaled-out workers construct their store at the same moment; PostgreSQL's
    # CREATE TABLE IF NOT EXISTS alone lets one of them fail on a duplicate type.
    from concurrent.futures import ThreadPoolExecutor

    from services.bus.settings import StoreSettings
    from tests.conftest import persistence_env

    for attempt in range(4):
        env = StoreSettings(tmp_path, persistence_env("postgres", tmp_path)).for_service("routing")
        with ThreadPoolExecutor(4) as pool:
            apps = list(pool.map(lambda _: ServiceApplication(env=env), range(4)))
        assert all(a.recorder.consumed.marks() == {} for a in apps)
