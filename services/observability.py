"""What an operator sees of a running service: `/healthz` (the process answers),
`/readyz` (its store and broker answer and its consumers have joined their
group), `/metrics` (Prometheus text), and a request id on every HTTP request
and every log line written while serving it.

Most figures are read when Prometheus scrapes, from the running services
themselves (their stores, relays and consumers), so nothing on the hot path
has to remember to count."""
from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
import uuid

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.bus.runtime import ServiceRunner
from services.logs import request_id

log = logging.getLogger("tousu.http")
REQUEST_ID = "X-Request-ID"
# An id from outside is kept only if it is short and plain: it goes into every log line.
ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
STORE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Routing's domain events that are decisions, by the name subscribers know them by.
DECISIONS = {"Complaint.Accepted": "ACCEPTED", "Complaint.Rejected": "REJECTED",
             "Complaint.Referred": "REFERRED", "Complaint.Transferred": "TRANSFERRED"}
LOG_PAGE, LOG_PAGES_PER_SCRAPE = 1000, 50


class EventCounts:
    """Stored domain events of one service by type, counted by following its
    notification log from where the previous scrape stopped."""

    def __init__(self, runner: ServiceRunner):
        self.runner = runner
        self.position = 0
        self.by_type: dict[str, int] = {}
        self.time_limits = 0

    def refresh(self) -> None:
        app = self.runner.app
        for _ in range(LOG_PAGES_PER_SCRAPE):
            page = app.recorder.select_notifications(self.position, LOG_PAGE, inclusive_of_start=False)
            if not page:
                return
            for notification in page:
                name = notification.topic.rsplit(":", 1)[-1]
                self.by_type[name] = self.by_type.get(name, 0) + 1
                if name == "MediationCase.Terminated":
                    event = app.mapper.to_domain_event(notification)
                    self.time_limits += getattr(event, "reason", None) == "TIME_LIMIT_EXCEEDED"
            self.position = page[-1].id


class RunnerCollector(Collector):
    """The services' own state, read at scrape time."""

    def __init__(self, runners: dict[str, ServiceRunner]):
        self.runners = runners
        self.counts = {name: EventCounts(runner) for name, runner in runners.items()}

    def collect(self):
        handled = CounterMetricFamily("tousu_consumer_messages", "Messages taken from the input topics, by outcome",
                                      labels=["service", "outcome"])
        lag = GaugeMetricFamily("tousu_consumer_lag", "Messages on a partition not yet read by this worker",
                                labels=["service", "topic", "partition"])
        stored = GaugeMetricFamily("tousu_store_position", "Highest notification id in the service's event store",
                                   labels=["service"])
        published = GaugeMetricFamily("tousu_relay_position", "Highest notification id the relay has published",
                                      labels=["service"])
        backlog = GaugeMetricFamily("tousu_relay_backlog", "Stored events not yet published", labels=["service"])
        events = CounterMetricFamily("tousu_events", "Domain events in the service's store, by type",
                                     labels=["service", "event"])
        decisions = CounterMetricFamily("tousu_decisions", "Routing decisions stored, by decision",
                                        labels=["decision"])
        dead = CounterMetricFamily("tousu_dead_letters", "Inputs the service stored as dead letters",
                                   labels=["service"])
        overdue = CounterMetricFamily("tousu_overdue", "Complaints found overdue: decisions past their due "
                                      "date, mediations ended by the time limit", labels=["kind"])
        for name, runner in self.runners.items():
            result = runner.processed
            for outcome in ("handled", "skipped", "dead"):
                handled.add_metric([name, outcome], getattr(result, outcome))
            for (topic, partition), value in _lag(runner).items():
                lag.add_metric([name, topic, str(partition)], value)
            try:
                top = runner.app.recorder.max_notification_id() or 0
                counts = self.counts[name]
                counts.refresh()
            except Exception:
                log.warning("metrics: the %s store did not answer", name, exc_info=True)
                continue
            stored.add_metric([name], top)
            published.add_metric([name], runner.relay.position)
            backlog.add_metric([name], max(top - runner.relay.position, 0))
            for event, count in sorted(counts.by_type.items()):
                events.add_metric([name, event], count)
            dead.add_metric([name], counts.by_type.get("DeadLetter.Recorded", 0))
            if name == "routing":
                for event, decision in DECISIONS.items():
                    decisions.add_metric([decision], counts.by_type.get(event, 0))
                overdue.add_metric(["decision"], counts.by_type.get("Complaint.DecisionOverdue", 0))
            if name == "mediation":
                overdue.add_metric(["mediation"], counts.time_limits)
        yield from (handled, lag, stored, published, backlog, events, decisions, dead, overdue)


def _lag(runner: ServiceRunner) -> dict[tuple[str, int], int]:
    """Per assigned partition: the broker's end minus the next offset this worker reads."""
    consumer = getattr(runner.faust_app, "_consumer", None) if runner.faust_app else None
    if consumer is None:
        return {}
    lags = {}
    try:
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            read = consumer._read_offset.get(tp)  # noqa: SLF001 - faust keeps no public read position
            committed = consumer._committed_offset.get(tp)  # noqa: SLF001
            if end is None:
                continue
            after = read + 1 if read is not None else committed if committed is not None else 0
            lags[(tp.topic, tp.partition)] = max(end - after, 0)
    except Exception:
        log.debug("metrics: no consumer positions for %s", runner.name, exc_info=True)
    return lags


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


async def readiness(runners: dict[str, ServiceRunner]) -> dict[str, dict[str, str]]:
    """For each service: store, broker and consumers, each "ok" or what is wrong."""
    checks = {}
    for name, runner in runners.items():
        checks[name] = {"store": await _store_ok(runner), "broker": await _broker_ok(runner),
                        "consumers": _consumers_ok(runner)}
    return checks


async def _store_ok(runner: ServiceRunner) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(runner.app.recorder.max_notification_id), 3)
        return "ok"
    except asyncio.TimeoutError:
        return "the event store did not answer within 3 s"
    except Exception as exc:
        return f"the event store fails: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


async def _broker_ok(runner: ServiceRunner) -> str:
    producer = runner.relay.producer
    if producer is None:
        return "not connected yet"
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), 3)
        return "ok"
    except Exception:
        return f"no broker answers at {runner.bus.bootstrap_servers}"


def _consumers_ok(runner: ServiceRunner) -> str:
    if not runner.spec.inputs:
        return "ok"
    app = runner.faust_app
    if app is None or getattr(app, "_consumer", None) is None:
        return "not started"
    if app.rebalancing:
        return "joining the consumer group"
    return "ok"


def observe(app, runners: dict[str, ServiceRunner]) -> None:
    """Health, readiness, metrics and request ids on a FastAPI app."""
    from fastapi import Request
    from fastapi.responses import JSONResponse, Response

    registry = CollectorRegistry()
    registry.register(RunnerCollector(runners))
    instrument(runners, registry)
    requests = Counter("tousu_http_requests", "HTTP requests answered", ["method", "route", "status"],
                       registry=registry)
    seconds = Histogram("tousu_http_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                        registry=registry)

    @app.middleware("http")
    async def _request_id(request: Request, call_next):
        given = request.headers.get(REQUEST_ID, "")
        rid = given if ACCEPTABLE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers[REQUEST_ID] = rid
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(request.scope.get("route"), "path", None) or "unmatched"
            requests.labels(request.method, route, str(status)).inc()
            seconds.labels(request.method, route).observe(elapsed)
            log.info("%s %s %s", request.method, request.url.path, status,
                     extra={"status": status, "route": route, "duration_ms": round(elapsed * 1000, 1)})
            request_id.reset(token)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz():
        return {"status": "ok", "services": list(runners)}

    @app.get("/readyz", tags=["operations"],
             summary="Ready: each service's store and broker answer and its consumers have joined")
    async def readyz():
        checks = await readiness(runners)
        ready = all(v == "ok" for check in checks.values() for v in check.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "services": checks},
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics():
        # Collectors read the stores: off the event loop.
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
