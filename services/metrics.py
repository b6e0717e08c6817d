"""The figures Prometheus scrapes, read at scrape time from the running
services themselves (their stores, relays and consumers), so nothing on the hot
path has to remember to count; and store-write timing around the services'
own entry points."""
from __future__ import annotations

import asyncio
import contextvars
import logging

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.bus.relay import published_position
from services.bus.runtime import ServiceRunner

log = logging.getLogger("tousu.metrics")
STORE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Routing's domain events that are decisions, by the name subscribers know them by.
DECISIONS = {"Complaint.Accepted": "ACCEPTED", "Complaint.Rejected": "REJECTED",
             "Complaint.Referred": "REFERRED", "Complaint.Transferred": "TRANSFERRED"}
LOG_PAGE, LOG_PAGES_PER_SCRAPE = 1000, 50
# What makes a complaint overdue, and what ends that: (kind, flagged by, ended by).
OVERDUE = (("decision", {"Complaint.DecisionOverdue"}, {"Complaint.Accepted", "Complaint.Rejected",
                                                        "Complaint.Referred"}),
           ("referral_reply", {"Complaint.ReferralOverdue"}, {"Complaint.ReferralAcknowledged",
                                                              "Complaint.ReferralDeclined"}))


class EventCounts:
    """Stored domain events of one service by type, counted by following its
    notification log from where the previous scrape stopped."""

    def __init__(self, runner: ServiceRunner):
        self.runner = runner
        self.position = 0
        self.by_type: dict[str, int] = {}
        self.time_limits = 0
        # Aggregates overdue now, by kind: flagged and not yet decided or answered.
        self.overdue_now: dict[str, set] = {kind: set() for kind, _, _ in OVERDUE}

    def refresh(self) -> None:
        app = self.runner.app
        for _ in range(LOG_PAGES_PER_SCRAPE):
            page = app.recorder.select_notifications(self.position, LOG_PAGE, inclusive_of_start=False)
            if not page:
                return
            for notification in page:
                name = notification.topic.rsplit(":", 1)[-1]
                self.by_type[name] = self.by_type.get(name, 0) + 1
                for kind, flagged, ended in OVERDUE:
                    if name in flagged:
                        self.overdue_now[kind].add(notification.originator_id)
                    elif name in ended:
                        self.overdue_now[kind].discard(notification.originator_id)
                if name == "MediationCase.Terminated":
                    event = app.mapper.to_domain_event(notification)
                    self.time_limits += getattr(event, "reason", None) == "TIME_LIMIT_EXCEEDED"
            self.position = page[-1].id


class EndOffsets:
    """The broker's end offset of every partition the consumers here are
    assigned, asked afresh at each scrape: the consumers' own idea of it goes
    stale exactly when they stop fetching, which is when lag matters."""

    def __init__(self, runners: dict[str, ServiceRunner]):
        self.runners = runners
        self.ends: dict[tuple[str, int], int] = {}
        self.answered = False

    async def refresh(self) -> None:
        from aiokafka import AIOKafkaConsumer

        from services.bus.settings import kafka_security

        tps = {tp for runner in self.runners.values() for tp in runner.assigned()}
        bootstrap = next(iter(self.runners.values())).bus.bootstrap_servers if self.runners else None
        if not tps or not bootstrap:
            return
        client = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                  request_timeout_ms=3000, **kafka_security())
        try:
            await asyncio.wait_for(client.start(), 3)
            ends = await asyncio.wait_for(client.end_offsets(list(tps)), 3)
            self.ends = {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
            self.answered = True
        except Exception:
            self.answered = False  # the last known ends stay: lag still grows as positions stand still
        finally:
            try:
                await asyncio.wait_for(client.stop(), 3)
            except Exception:
                pass


class RunnerCollector(Collector):
    """The services' own state, read at scrape time."""

    def __init__(self, runners: dict[str, ServiceRunner], ends: EndOffsets | None = None):
        self.runners = runners
        self.ends = ends or EndOffsets(runners)
        self.counts = {name: EventCounts(runner) for name, runner in runners.items()}

    def collect(self):
        handled = CounterMetricFamily("tousu_consumer_messages", "Messages taken from the input topics, by outcome",
                                      labels=["service", "outcome"])
        lag = GaugeMetricFamily("tousu_consumer_lag", "Messages on a partition not yet read by this worker",
                                labels=["service", "topic", "partition"])
        position = GaugeMetricFamily("tousu_consumer_position", "Next offset this worker reads on a partition",
                                     labels=["service", "topic", "partition"])
        end = GaugeMetricFamily("tousu_topic_end_offset", "The broker's end offset of a partition read here "
                                "(below a position: the broker lost data)", labels=["topic", "partition"])
        broker = GaugeMetricFamily("tousu_broker_answering", "1 when the broker answered this scrape")
        stored = GaugeMetricFamily("tousu_store_position", "Highest notification id in the service's event store",
                                   labels=["service"])
        leading = GaugeMetricFamily("tousu_relay_leading", "1 on the worker of the service that publishes its "
                                    "events and runs its timers", labels=["service"])
        published = GaugeMetricFamily("tousu_relay_position", "Highest notification id the service's relay has "
                                      "published, as its store says (whichever worker leads)",
                                      labels=["service"])
        backlog = GaugeMetricFamily("tousu_relay_backlog", "Stored events not yet published", labels=["service"])
        events = CounterMetricFamily("tousu_events", "Domain events in the service's store, by type",
                                     labels=["service", "event"])
        decisions = CounterMetricFamily("tousu_decisions", "Routing decisions stored, by decision (every worker of "
                                        "routing reports its one store's count: take the max across workers)",
                                        labels=["decision"])
        dead = CounterMetricFamily("tousu_dead_letters", "Inputs the service stored as dead letters",
                                   labels=["service"])
        overdue = CounterMetricFamily("tousu_overdue", "Complaints found overdue: decisions past their due "
                                      "date, referrals unanswered past their reply time, mediations ended by the "
                                      "time limit", labels=["kind"])
        overdue_now = GaugeMetricFamily("tousu_overdue_open", "Complaints overdue now: no decision past its due "
                                        "date, a referral unanswered past its reply time", labels=["kind"])
        for name, runner in self.runners.items():
            result = runner.processed
            for outcome in ("handled", "skipped", "dead"):
                handled.add_metric([name, outcome], getattr(result, outcome))
            for (topic, partition), next_offset in _positions(runner).items():
                labels = [name, topic, str(partition)]
                position.add_metric(labels, next_offset)
                known = self.ends.ends.get((topic, partition))
                if known is not None:
                    lag.add_metric(labels, max(known - next_offset, 0))
            try:
                top = runner.app.recorder.max_notification_id() or 0
                counts = self.counts[name]
                counts.refresh()
            except Exception:
                log.warning("metrics: the %s store did not answer", name, exc_info=True)
                continue
            stored.add_metric([name], top)
            # From the store: a worker that does not lead publishes nothing, its own position says nothing.
            published_to = runner.relay.position if runner.relay.leading else published_position(runner.app)
            leading.add_metric([name], 1 if runner.relay.leading else 0)
            published.add_metric([name], published_to)
            backlog.add_metric([name], max(top - published_to, 0))
            for event, count in sorted(counts.by_type.items()):
                events.add_metric([name, event], count)
            dead.add_metric([name], counts.by_type.get("DeadLetter.Recorded", 0))
            if name == "routing":
                for event, decision in DECISIONS.items():
                    decisions.add_metric([decision], counts.by_type.get(event, 0))
                overdue.add_metric(["decision"], counts.by_type.get("Complaint.DecisionOverdue", 0))
                overdue.add_metric(["referral"], counts.by_type.get("Complaint.ReferralOverdue", 0))
                for kind, ids in counts.overdue_now.items():
                    overdue_now.add_metric([kind], len(ids))
            if name == "mediation":
                overdue.add_metric(["mediation"], counts.time_limits)
        for (topic, partition), offset in sorted(self.ends.ends.items()):
            end.add_metric([topic, str(partition)], offset)
        broker.add_metric([], 1 if self.ends.answered else 0)
        yield from (handled, lag, position, end, broker, stored, leading, published, backlog, events, decisions,
                    dead, overdue, overdue_now)


def _positions(runner: ServiceRunner) -> dict[tuple[str, int], int]:
    """Per assigned partition, the next offset this worker reads: after the last
    it read, else its group's committed offset, else the first."""
    positions = {}
    try:
        consumer = runner.consumer
        for tp in runner.assigned():
            read = consumer._read_offset.get(tp)  # noqa: SLF001 - faust keeps no public read position
            committed = consumer._committed_offset.get(tp)  # noqa: SLF001
            # Neither yet: nothing read, nothing committed, so reading starts at the earliest offset.
            positions[(tp.topic, tp.partition)] = read + 1 if read is not None else committed or 0
    except Exception:
        log.debug("metrics: no consumer positions for %s", runner.name, exc_info=True)
    return positions


def instrument(runners: dict[str, ServiceRunner], registry: CollectorRegistry) -> None:
    """Time every store write (consumer batches, HTTP commands, timers) and let
    an HTTP command's log lines carry its request id into the store thread."""
    latency = Histogram("tousu_store_seconds", "Time a store write took", ["service", "operation"],
                        registry=registry, buckets=STORE_BUCKETS)
    for name, runner in runners.items():
        if getattr(runner, "_observed", False):
            continue
        runner._observed = True
        process, run_in_store = runner.processor.process, runner.run_in_store

        def timed_batch(messages, _process=process, _timer=latency.labels(name, "batch")):
            with _timer.time():
                return _process(messages)

        async def in_context(fn, *args, _run=run_in_store, _timer=latency.labels(name, "command")):
            context = contextvars.copy_context()

            def call():
                with _timer.time():
                    return context.run(fn, *args)
            return await _run(call)

        runner.processor.process = timed_batch
        runner.run_in_store = in_context
