"""What a message from outside carries beside its record (an event id, a
request id) is kept with its effects: none of it may be such that the store
refuses it (a NUL on PostgreSQL) or the broker the dead letter it makes."""
from __future__ import annotations

from services.bus import correlation
from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor
from services.bus.deadletters import DeadLetter
from services.bus.messages import Inbound
from services.bus.relay import MAX_MESSAGE_BYTES, Relay
from services.bus.settings import store_settings
from services.routing.application import Routing
from services.system import spec
from tests.examples import EXAMPLES
from tests.inbound import messages


def routing(store_env) -> Routing:
    return spec("routing").build(env=store_settings(store_env).for_service("routing"))


def test_a_nul_in_an_event_id_stops_nothing(store_env):
    app = routing(store_env)
    try:
        process = BatchProcessor(app, spec("routing").handler(app), default_codec()).process
        [reply] = messages(app, ("ReferralAcknowledged", {**EXAMPLES["ReferralAcknowledged"],
                                                           "complaint_id": "TS-NOPE"}), writer="CA-310000")
        record = {**default_codec().decode(reply.value)[1], "event_id": "h6nul\x00x"}
        reply = Inbound(reply.topic, 0, reply.offset, reply.key, default_codec().encode("ReferralAcknowledged", record),
                        {**reply.headers, "event_id": record["event_id"].encode()})
        assert process([reply]).dead == 1  # no such complaint: said in a dead letter, the batch stored
        [received] = messages(app, ("ComplaintReceived", EXAMPLES["ComplaintReceived"]))
        assert process([received]).handled == 1
        # Delivered again (a later offset, as after a broker loss): the same id, NUL and all, is known.
        again = process([Inbound(reply.topic, 0, reply.offset + 1, reply.key, reply.value, reply.headers)])
        assert again.skipped == 1
    finally:
        app.close()


def test_a_huge_request_id_is_not_kept(store_env):
    app = routing(store_env)
    try:
        process = BatchProcessor(app, spec("routing").handler(app), default_codec()).process
        garbage = Inbound("referrals.replies", 0, 0, b"k", b"\x00garbage",
                          {"source": b"CA-310000", correlation.REQUEST_ID: b"r" * 2_500_000})
        assert process([garbage]).dead == 1
        [stored] = app.recorder.select_notifications(0, 10)
        letter = app.mapper.to_domain_event(stored)
        assert isinstance(letter, DeadLetter.Recorded) and correlation.of_event(letter) is None
        relay = Relay("routing", app, lambda e, a: [], default_codec(), "127.0.0.1:1")
        out, _ = relay.messages_for(stored, "0" * 64)
        assert all(len(v) + sum(len(h) for _, h in headers) < MAX_MESSAGE_BYTES for _, _, v, headers in out)
    finally:
        app.close()
