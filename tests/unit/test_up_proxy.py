"""`tousu up`'s one address in front of several workers of a service
(TOUSU_WORKERS): requests go to each in turn, a worker that cannot be reached
is passed over, and only when none can be is the caller told 503."""
import httpx
from fastapi.testclient import TestClient

from services.up import Up


def worker(name: str, served: list[str], reachable: bool = True, drops: bool = False) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if not reachable:
            raise httpx.ConnectError("connection refused", request=request)
        served.append(name)
        if drops:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(202, json={"complaint_id": f"from {name}"})
    return httpx.AsyncClient(base_url=f"http://{name}", transport=httpx.MockTransport(answer))


def proxy(*workers: httpx.AsyncClient) -> TestClient:
    up = Up("127.0.0.1", 8315, env={})
    up.pool["intake"] = list(workers)
    up.by_worker = {("intake" if i == 0 else f"intake-{i + 1}"): ("intake", w) for i, w in enumerate(workers)}
    up.routes.add("intake", {"paths": {"/complaints": {"post": {}}}})
    return TestClient(up.app())


def test_each_worker_of_a_service_takes_requests_in_turn():
    served: list[str] = []
    client = proxy(worker("intake-1", served), worker("intake-2", served))
    answers = [client.post("/complaints", json={}) for _ in range(4)]
    assert [a.status_code for a in answers] == [202] * 4
    assert served == ["intake-1", "intake-2", "intake-1", "intake-2"]


def test_a_worker_that_cannot_be_reached_is_passed_over():
    served: list[str] = []
    client = proxy(worker("intake-1", served), worker("intake-2", served, reachable=False))
    assert [client.post("/complaints", json={}).status_code for _ in range(3)] == [202] * 3
    assert served == ["intake-1"] * 3


def test_no_worker_reachable_is_a_503_naming_the_service():
    client = proxy(worker("intake-1", [], reachable=False), worker("intake-2", [], reachable=False))
    answer = client.post("/complaints", json={})
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert "intake" in answer.json()["detail"]


def test_a_request_a_worker_received_is_never_sent_to_another():
    # It may have been stored: only the caller, with its Idempotency-Key, may send it again.
    served: list[str] = []
    client = proxy(worker("intake-1", served, drops=True), worker("intake-2", served))
    answer = client.post("/complaints", json={})
    assert answer.status_code == 503
    assert served == ["intake-1"]


def test_readiness_asks_every_worker_and_names_each():
    client = proxy(worker("intake-1", []), worker("intake-2", [], reachable=False))
    answer = client.get("/readyz")
    assert answer.status_code == 503, "one worker does not answer"
    assert set(answer.json()["services"]) == {"intake", "intake-2"}
    assert answer.json()["services"]["intake-2"] == {"process": "no answer"}
