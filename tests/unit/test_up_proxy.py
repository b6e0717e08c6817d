"""`tousu up`'s one address in front of several workers of a service
(TOUSU_WORKERS): requests go to each in turn, a worker that cannot be reached
is passed over, and only when none can be is the caller told 503. The workers
here are small HTTP servers on loopback; the proxy is the real one."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from services.bus.broker import free_port
from services.up import Up, Worker as UpWorker


class Worker:
    """An HTTP server that notes each request it receives under its name."""

    def __init__(self, name: str, served: list[str], drops: bool = False):
        self.name, self.served, self.drops = name, served, drops
        self.seen: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.served.append(outer.name)
                outer.seen.append({"method": self.command, "path": self.path, "body": body,
                                   "headers": {k.lower(): v for k, v in self.headers.items()}})
                if outer.drops:
                    self.close_connection = True
                    return
                payload = json.dumps({"complaint_id": f"from {outer.name}", "services": {}}).encode()
                self.send_response(202)
                self.send_header("content-type", "application/json")
                self.send_header("set-cookie", "a=1")
                self.send_header("set-cookie", "b=2")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def workers():
    started: list[Worker] = []

    def start(name: str, served: list[str], drops: bool = False) -> str:
        started.append(Worker(name, served, drops))
        return started[-1].url

    start.started = started
    yield start
    for worker in started:
        worker.close()


def unreachable() -> str:
    return f"http://127.0.0.1:{free_port()}"


def at(service: str, instance: int, url: str) -> UpWorker:
    """tousu up's record of a worker listening at `url`."""
    return UpWorker(service, instance, {}, "WARNING", port=int(url.rsplit(":", 1)[1]))


@pytest.fixture
def proxy():
    clients = []

    def make(*urls: str) -> TestClient:
        up = Up("127.0.0.1", 8315, env={})
        up.pool["intake"] = [at("intake", i + 1, url) for i, url in enumerate(urls)]
        up.by_worker = {worker.name: worker for worker in up.pool["intake"]}
        up.routes.add("intake", {"paths": {"/complaints": {"post": {}, "get": {}}}})
        clients.append(TestClient(up.app()).__enter__())
        return clients[-1]
    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_each_worker_of_a_service_takes_requests_in_turn(workers, proxy):
    served: list[str] = []
    client = proxy(workers("intake-1", served), workers("intake-2", served))
    answers = [client.post("/complaints", json={}) for _ in range(4)]
    assert [a.status_code for a in answers] == [202] * 4
    assert served == ["intake-1", "intake-2", "intake-1", "intake-2"]


def test_a_request_is_forwarded_as_sent_and_its_answer_returned_as_given(workers, proxy):
    client = proxy(workers("intake-1", []))
    answer = client.post("/complaints?lang=zh&tag=a&tag=b", content=b'{"x": 1}',
                         headers={"content-type": "application/json", "idempotency-key": "k-1",
                                  "authorization": "Bearer t"})
    seen = workers.started[0].seen[0]
    assert seen["method"] == "POST" and seen["path"] == "/complaints?lang=zh&tag=a&tag=b"
    assert seen["body"] == b'{"x": 1}'
    assert {k: seen["headers"][k] for k in ("content-type", "idempotency-key", "authorization")} == {
        "content-type": "application/json", "idempotency-key": "k-1", "authorization": "Bearer t"}
    assert seen["headers"]["user-agent"] == "testclient", "the caller's, not the proxy's"
    assert seen["headers"]["host"] == "testserver", "the address the caller used, for the links a worker writes"
    assert answer.status_code == 202 and answer.json() == {"complaint_id": "from intake-1", "services": {}}
    assert answer.headers.get_list("set-cookie") == ["a=1", "b=2"], "every Set-Cookie, not the last"

    client.post("/complaints", content=b"x")  # a body of no stated type is passed on as one
    assert "content-type" not in workers.started[0].seen[1]["headers"]


def test_a_worker_that_cannot_be_reached_is_passed_over(workers, proxy):
    served: list[str] = []
    client = proxy(workers("intake-1", served), unreachable())
    assert [client.post("/complaints", json={}).status_code for _ in range(3)] == [202] * 3
    assert served == ["intake-1"] * 3


def test_no_worker_reachable_is_a_503_naming_the_service(proxy):
    client = proxy(unreachable(), unreachable())
    answer = client.post("/complaints", json={})
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert "intake" in answer.json()["detail"]


def test_a_request_a_worker_received_is_never_sent_to_another(workers, proxy):
    # It may have been stored: only the caller, with its Idempotency-Key, may send it again.
    served: list[str] = []
    client = proxy(workers("intake-1", served, drops=True), workers("intake-2", served))
    answer = client.post("/complaints", json={})
    assert answer.status_code == 503
    assert served == ["intake-1"]


def test_readiness_asks_every_worker_and_names_each(workers, proxy):
    client = proxy(workers("intake-1", []), unreachable())
    answer = client.get("/readyz")
    # The service still serves, through the worker that answers; the other is named.
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["services"]) == {"intake", "intake-2"}
    assert answer.json()["services"]["intake-2"] == {"process": "no answer"}
    none = proxy(unreachable(), unreachable()).get("/readyz")
    assert none.status_code == 503 and none.json()["status"] == "not ready"


def test_every_answer_of_the_one_address_carries_the_request_id(workers, proxy):
    client = proxy(workers("intake-1", []))
    given = client.post("/complaints", json={}, headers={"X-Request-ID": "trace-1"})
    assert given.headers["x-request-id"] == "trace-1"
    assert workers.started[0].seen[0]["headers"]["x-request-id"] == "trace-1"
    made = client.post("/complaints", json={})
    assert made.headers["x-request-id"] == workers.started[0].seen[1]["headers"]["x-request-id"], \
        "the id made here is the one the worker logs"
    for path in ("/healthz", "/openapi.json", "/nowhere"):  # answered here, a 404 too
        assert client.get(path, headers={"X-Request-ID": "trace-2"}).headers["x-request-id"] == "trace-2"
    assert client.get("/healthz", headers={"X-Request-ID": "not plain!"}).headers["x-request-id"] != "not plain!"


def test_a_method_a_path_does_not_take_is_a_405_naming_those_it_does(workers, proxy):
    client = proxy(workers("intake-1", []))
    refused = client.delete("/complaints")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, POST"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.delete("/nowhere").status_code == 404
