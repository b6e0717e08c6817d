"""What an operator sees: each service says it is alive (/healthz) and whether it
can work (/readyz), exposes Prometheus metrics, and tags every log line of an
HTTP request with that request's id."""
from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.bus.reader import read_all_sync
from tests import factories
from tests.harness import HTTP, Processes, wait_until

SERVICES = ("intake", "routing", "mediation")


@pytest.fixture
def system(bus, tmp_path):
    processes = Processes(bus.bootstrap_servers, tmp_path / "data", services=SERVICES,
                          extra_env={"TOUSU_LOG_LEVEL": "INFO"}).start()
    yield processes
    processes.stop()


def metrics(url: str) -> dict[tuple[str, tuple], float]:
    text = HTTP.get(f"{url}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass  # a library writing to stderr directly
    return [line for line in lines if isinstance(line, dict)]


def ready(url: str) -> bool:
    return HTTP.get(f"{url}/readyz", timeout=10).status_code == 200


def test_health_readiness_metrics_and_request_ids_while_the_broker_comes_and_goes(system, bus):
    for name in SERVICES:
        assert HTTP.get(f"{system.url_of(name)}/healthz", timeout=10).json()["status"] == "ok"
        wait_until(lambda: ready(system.url_of(name)), 60, message=f"{name} ready")

    answer = HTTP.post(f"{system.url}/complaints", json=factories.complaint(1),
                        headers={"X-Request-ID": "ops-test-0001"}, timeout=30)
    assert answer.status_code == 202 and answer.headers["X-Request-ID"] == "ops-test-0001"
    assert HTTP.get(f"{system.url}/healthz", timeout=10).headers["X-Request-ID"], "an id is made when none is given"
    logged = json_lines(system.workers["intake"].log_path.read_text())
    assert any(line.get("request_id") == "ops-test-0001" and line.get("status") == 202 for line in logged), logged
    assert all(line["service"] == "intake" for line in logged)

    routing = system.url_of("routing")
    # The decision is counted from the store, the message once its batch is
    # committed: one scrape may fall between the two.
    decided = wait_until(lambda: (m := metrics(routing))
                         and (value(m, "tousu_decisions_total", decision="ACCEPTED") or 0) >= 1
                         and (value(m, "tousu_consumer_messages_total", service="routing", outcome="handled")
                              or 0) >= 1 and m, 60, message="a decision counted and its message handled")
    assert value(decided, "tousu_dead_letters_total", service="routing") == 0
    assert value(decided, "tousu_overdue_total", kind="decision") == 0
    lags = {k[1] for k in decided if k[0] == "tousu_consumer_lag"}
    assert (("partition", "0"), ("service", "routing"), ("topic", "complaints.received")) in lags
    wait_until(lambda: value(metrics(routing), "tousu_relay_backlog", service="routing") == 0, 30,
               message="routing's relay caught up")
    assert value(decided, "tousu_store_seconds_count", service="routing", operation="batch") >= 1
    assert value(decided, "tousu_broker_answering") == 1

    # The request's id follows the complaint: on the messages each service
    # sent because of it, and in the log lines of the services that acted.
    complaint_id = answer.json()["complaint_id"]
    for topic in ("complaints.received", "complaints.decisions", "mediation.events", "audit.log"):
        carried = wait_until(lambda: [m.headers.get("request_id") for m in read_all_sync(bus.bootstrap_servers, topic)
                                      if complaint_id in m.value.decode("utf-8", "replace")], 30, message=topic)
        assert set(carried) == {b"ops-test-0001"}, (topic, carried)
    for name in ("routing", "mediation"):
        logged = json_lines(system.workers[name].log_path.read_text())
        assert any(line.get("request_id") == "ops-test-0001" and complaint_id in line["message"]
                   for line in logged), (name, logged[-5:])

    intake = metrics(system.url)
    assert value(intake, "tousu_http_requests_total", method="POST", route="/complaints", status="202") == 1
    assert value(intake, "tousu_store_position", service="intake") >= 1

    bus.broker.stop()
    down = wait_until(lambda: (r := HTTP.get(f"{routing}/readyz", timeout=10)).status_code == 503 and r.json(),
                      30, message="routing not ready without a broker")
    assert down["services"]["routing"]["broker"] != "ok" and down["services"]["routing"]["store"] == "ok"
    assert HTTP.get(f"{routing}/healthz", timeout=10).status_code == 200
    blind = metrics(routing)
    assert value(blind, "tousu_store_position", service="routing") >= 1, "metrics still answer"
    assert value(blind, "tousu_broker_answering") == 0
    bus.broker.start()
    wait_until(lambda: ready(routing), 60, message="routing ready again once the broker is back")
