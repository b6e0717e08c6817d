"""An event id is its topic's: a writer of one topic cannot, by reusing the id
another topic's coming message will carry, have that message skipped as
handled already."""
from __future__ import annotations

from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor
from services.routing.application import Routing
from services.system import spec
from tests.examples import EXAMPLES
from tests.inbound import messages


def test_a_reply_carrying_a_coming_complaints_event_id_does_not_hide_it():
    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    process = BatchProcessor(app, spec("routing").handler(app), default_codec()).process
    forged, received = messages(app, ("ReferralAcknowledged", {**EXAMPLES["ReferralAcknowledged"],
                                                                "complaint_id": "TS-20260302-0000000000AA"}),
                                ("ComplaintReceived", EXAMPLES["ComplaintReceived"]), writer="CA-310000")
    # Both carry the id intake's relay will give the complaint.
    coming = received.headers["event_id"]
    forged.headers["event_id"] = coming
    forged = forged.__class__(forged.topic, forged.partition, forged.offset, forged.key,
                              default_codec().encode("ReferralAcknowledged", {
                                  **default_codec().decode(forged.value)[1], "event_id": coming.decode()}),
                              forged.headers)
    assert process([forged]).dead == 1  # no such complaint: a dead letter, its id kept
    received.headers["source"] = b"intake"
    result = process([received])
    assert result.handled == 1 and result.skipped == 0, result
    assert app.complaint(EXAMPLES["ComplaintReceived"]["complaint_id"]) is not None
    # ...while the same complaint delivered again is still skipped.
    again = messages(app, ("ComplaintReceived", EXAMPLES["ComplaintReceived"]))[0]
    again.headers["event_id"] = coming
    again = again.__class__(again.topic, again.partition, again.offset, again.key, received.value, again.headers)
    assert process([again]).skipped == 1


def test_a_huge_message_makes_a_dead_letter_the_broker_still_takes():
    """Kept whole, a sender's megabytes (the key three times over) made a dead
    letter larger than the broker takes: the service published nothing after it."""
    from services.bus.deadletters import DeadLetter, unb64
    from services.bus.messages import Inbound
    from services.bus.relay import MAX_MESSAGE_BYTES, Relay

    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    process = BatchProcessor(app, spec("routing").handler(app), default_codec()).process
    huge = Inbound("referrals.replies", 0, 0, b"K" * 720 * 1024, b"\x00" + b"x" * (1200 * 1024),
                   {"source": b"CA-310000"})
    assert process([huge]).dead == 1
    [stored] = app.recorder.select_notifications(0, 10)
    letter = app.mapper.to_domain_event(stored)
    assert isinstance(letter, DeadLetter.Recorded)
    assert unb64(letter.original_b64) == huge.value[:512 * 1024] and "of 1228801 bytes kept" in letter.error
    relay = Relay("routing", app, lambda e, a: [], default_codec(), "127.0.0.1:1")
    messages, _ = relay.messages_for(stored, "0" * 64)
    assert all(len(key) + len(value) < MAX_MESSAGE_BYTES for _, key, value, _ in messages)
    assert [m[0] for m in messages] == ["deadletter", "audit.log"]
