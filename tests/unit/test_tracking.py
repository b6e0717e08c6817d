"""Exactly-once effects: the batch processor against an in-memory store."""
import pytest
from eventsourcing.domain import Aggregate, event

from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor
from services.bus.deadletters import DeadLetter
from services.bus.messages import Inbound
from services.bus.store import ServiceApplication, derive_id
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


@pytest.fixture
def app():
    return ServiceApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def message(cid, position, partition=0, offset=None, facts="ok", source="intake"):
    value = default_codec().encode("ComplaintReceived", dict(EXAMPLES["ComplaintReceived"], complaint_id=cid, facts=facts))
    headers = {"source": source.encode(), "position": str(position).encode(), "event_type": b"ComplaintReceived"}
    return Inbound("complaints.received", partition, position if offset is None else offset, cid.encode(), value, headers)


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


def test_partitions_and_sources_are_tracked_separately(app):
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message("a", 3, partition=0), message("b", 3, partition=1), message("c", 3, source="mediation")])
    assert counts(app, "a") == counts(app, "b") == counts(app, "c") == 1


def test_older_positions_after_a_newer_one_are_skipped(app):
    processor = BatchProcessor(app, handle, default_codec())
    processor.process([message("x", 10)])
    result = processor.process([message("x", 9), message("x", 10), message("x", 11)])
    assert (result.handled, result.skipped) == (1, 2)
    assert counts(app, "x") == 2


def test_undecodable_bytes_become_dead_letters_and_the_rest_goes_on(app):
    processor = BatchProcessor(app, handle, default_codec())
    garbage = Inbound("complaints.received", 0, 99, None, b"\x00not avro at all", {})
    result = processor.process([message("g1", 1), garbage, message("g2", 2)])
    assert (result.handled, result.dead) == (2, 1)
    letter = app.repository.get(DeadLetter.create_id("complaints.received", 0, 99, "AG5vdCBhdnJvIGF0IGFsbA=="))
    assert "marker" in letter.error
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
    wrong = Inbound("complaints.received", 0, 5, None, value, {"source": b"routing", "position": b"5"})
    assert processor.process([wrong]).dead == 1
