"""The figures an operator scrapes, read from a service's own store: decisions,
overdue, relay backlog; counted once however often Prometheus asks."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.bus.clock import Clock
from services.bus.consumer import BatchResult
from services.bus.store import UnitOfWork
from services.metrics import RunnerCollector
from services.routing.application import Routing
from tests.examples import EXAMPLES

RECEIVED = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)


def receive(app, cid, **changes):
    record = dict(EXAMPLES["ComplaintReceived"], complaint_id=cid, occurred_at=RECEIVED,
                  aware_date=RECEIVED.date(), prior_handling=[], preferred_agency_id=None, **changes)
    uow = UnitOfWork(app)
    app.receive(uow, record)
    uow.commit()


def scrape(registry) -> dict:
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_decisions_overdue_and_backlog_come_from_the_store_and_are_counted_once():
    clock = Clock()
    clock.offset = RECEIVED + timedelta(hours=1) - datetime.now(timezone.utc)
    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    receive(app, "TS-1")
    receive(app, "TS-2", demands=[])
    receive(app, "TS-3", subject_area="TELECOM")
    clock.advance(timedelta(days=20))
    receive(app, "TS-4")  # decided after its due date: flagged overdue first
    assert app.flag_overdue() == 1  # TS-3's referral, unanswered past its reply time
    runner = SimpleNamespace(app=app, processed=BatchResult(handled=4), relay=SimpleNamespace(position=2, leading=True),
                             faust_app=None, name="routing")
    registry = CollectorRegistry()
    registry.register(RunnerCollector({"routing": runner}))

    for _ in range(2):
        seen = scrape(registry)
        assert seen[("tousu_decisions_total", (("decision", "ACCEPTED"),))] == 2
        assert seen[("tousu_decisions_total", (("decision", "REJECTED"),))] == 1
        assert seen[("tousu_decisions_total", (("decision", "REFERRED"),))] == 1
        assert seen[("tousu_overdue_total", (("kind", "decision"),))] == 1
        assert seen[("tousu_overdue_total", (("kind", "referral"),))] == 1
        assert seen[("tousu_overdue_open", (("kind", "decision"),))] == 0, "TS-4 was decided after all"
        assert seen[("tousu_overdue_open", (("kind", "referral_reply"),))] == 1
        assert seen[("tousu_events_total", (("event", "Complaint.Received"), ("service", "routing")))] == 4
        assert seen[("tousu_consumer_messages_total", (("outcome", "handled"), ("service", "routing")))] == 4
        top = app.recorder.max_notification_id()
        assert seen[("tousu_relay_backlog", (("service", "routing"),))] == top - 2
        assert seen[("tousu_dead_letters_total", (("service", "routing"),))] == 0


def test_a_worker_that_does_not_lead_reports_what_the_store_says_was_published():
    # Else a follower's backlog reads as the whole store, unpublished, for ever.
    from eventsourcing.persistence import Tracking

    from services.bus.relay import RELAY_TRACKING

    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    receive(app, "TS-1")
    top = app.recorder.max_notification_id()
    app.process_recorder.insert_tracking(Tracking(RELAY_TRACKING, top))
    follower = SimpleNamespace(app=app, processed=BatchResult(), relay=SimpleNamespace(position=0, leading=False),
                               faust_app=None, name="routing")
    registry = CollectorRegistry()
    registry.register(RunnerCollector({"routing": follower}))
    seen = scrape(registry)
    assert seen[("tousu_relay_backlog", (("service", "routing"),))] == 0
    assert seen[("tousu_relay_leading", (("service", "routing"),))] == 0


def test_every_series_of_a_service_with_several_workers_names_its_worker():
    from services.up import merged_metrics

    text = "# TYPE tousu_relay_leading gauge\ntousu_relay_leading{service=\"routing\"} 1.0\n"
    alone = merged_metrics({"routing": text}, frozenset({"routing", "routing-2"})).decode()
    assert 'tousu_relay_leading{service="routing",worker="routing"} 1.0' in alone  # routing-2 is restarting
    single = merged_metrics({"routing": text}).decode()
    assert 'tousu_relay_leading{service="routing"} 1.0' in single
