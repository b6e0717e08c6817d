"""Intake's HTTP face in-process, over a real store (SQLite and PostgreSQL):
many requests in one call (`POST /complaints/bulk`), and concurrent
submissions sharing one store transaction (group commit)."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest

from services import auth, casework
from services.bus import correlation
from services.bus.runtime import ServiceRunner
from services.bus.settings import BusSettings, StoreSettings
from services.http import build_app
from services.intake import api, bulk
from services.intake.domainmodel import Request
from services.intake.spec import SPEC
from services.intake.groupcommit import GroupCommit
from tests import factories
from tests.harness import wait_until

PROBLEM = "application/problem+json"
KEY = "bulk-test-signing-key-of-32-bytes!!"


class Intake:
    """Intake's routes on its own store; no broker: what is stored is what is checked."""

    def __init__(self, env: dict):
        store = StoreSettings(Path(env["TOUSU_DATA_DIR"]), env)
        # Nothing here reaches the broker: the relay is never started.
        self.runner = ServiceRunner(SPEC, BusSettings("127.0.0.1:9"), store)
        self.committer = GroupCommit(self.runner.run_in_store, self.runner.app.submit_many)
        self.http = build_app({})
        self.http.include_router(api.router(self.runner, self.committer))
        self.token = auth.issue("AMR-310115", "AGENCY_SYSTEM", KEY.encode())

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(self.http), base_url="http://tousu", timeout=60)

    def call(self, coroutine_fn):
        async def run():
            async with self.client() as client:
                return await coroutine_fn(client)
        return asyncio.run(run())

    def bulk(self, lines: list, headers: dict | None = None, token: bool = True) -> httpx.Response:
        body = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
        return self.post_bulk(body.encode("utf-8"), headers, token)

    def post_bulk(self, body: bytes, headers: dict | None = None, token: bool = True) -> httpx.Response:
        headers = {"Content-Type": "application/x-ndjson", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.call(lambda client: client.post("/complaints/bulk", content=body, headers=headers))

    def received(self) -> list[str]:
        """The id of every request stored, from the store's own log."""
        notifications = self.runner.app.recorder.select_notifications(start=1, limit=100_000)
        return [json.loads(n.state)["complaint_id"] for n in notifications if n.topic.endswith("Request.Received")]

    def close(self) -> None:
        self.runner.executor.shutdown()
        self.runner.commands.shutdown()
        self.runner.app.close()


@pytest.fixture
def intake(store_env, monkeypatch):
    monkeypatch.setenv("TOUSU_SIGNING_KEY", KEY)
    casework._key.cache_clear()
    service = Intake(store_env)
    yield service
    service.close()
    casework._key.cache_clear()


def marked(i: int) -> dict:
    return factories.complaint(i, facts=f"购买的商品出现质量问题,商家拒绝退货。标记{uuid.uuid4().hex}")


def test_a_bulk_stores_the_good_lines_and_names_the_bad_ones(intake):
    report = dict(factories.complaint(2), kind="REPORT", alleged_violation="COUNTERFEIT")
    report.pop("demands")
    bad_phone = factories.merged(factories.complaint(3), {"consumer.phone": "12345"})
    bad_channel = dict(factories.complaint(4), channel="FAX")
    lines = [marked(1), '{"kind": "COMPLAINT",', bad_phone, "", report, bad_channel, "  ", marked(5)]

    response = intake.bulk(lines)

    assert response.status_code == 200, response.text
    answer = response.json()
    by_line = {result["line"]: result for result in answer["results"]}
    assert sorted(by_line) == [1, 2, 3, 5, 6, 8]  # blank lines are not requests, but they are counted
    assert answer["accepted"] == 3 and answer["refused"] == 3
    assert by_line[2]["status"] == 400 and by_line[2]["title"] == "Not JSON"
    assert by_line[3]["status"] == 422 and by_line[3]["field"] == "consumer.phone"
    assert by_line[6]["status"] == 422 and by_line[6]["field"] == "channel"
    for refused in (2, 3, 6):
        assert by_line[refused]["type"].startswith("https://") and by_line[refused]["detail"]
        assert "complaint_id" not in by_line[refused]
    good = {number: by_line[number] for number in (1, 5, 8)}
    assert all(result["status"] == 202 for result in good.values())
    assert good[5]["kind"] == "REPORT"
    assert sorted(intake.received()) == sorted(result["complaint_id"] for result in good.values())
    # Each line's id is its own request, not a neighbour's.
    for number in (1, 8):
        stored = intake.runner.app.record(good[number]["complaint_id"]).record
        assert stored["facts"] == lines[number - 1]["facts"]

    async def statuses(client):
        return [await client.get(result["status_url"]) for result in good.values()]
    assert [s.json()["status"] for s in intake.call(statuses)] == ["RECEIVED"] * 3


def test_a_retried_bulk_stores_nothing_twice(intake):
    own = [dict(marked(i), idempotency_key=f"hotline-ticket-{uuid.uuid4()}") for i in range(3)]
    first = intake.bulk(own).json()
    again = intake.bulk(own).json()
    assert first == again and first["accepted"] == 3

    # Keys from the header: line N is `K:N`; the same batch sent again is the same requests.
    plain = [marked(i) for i in range(10, 14)]
    headers = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    first_plain = intake.bulk(plain, headers).json()
    assert intake.bulk(plain, headers).json() == first_plain
    assert len(intake.received()) == 7 == len(set(intake.received()))

    # A key reused for a different request is refused on its line, naming where the key came from.
    changed = [own[0], dict(own[1], demands=["REPAIR"])]
    answer = intake.bulk(changed).json()["results"]
    assert answer[0]["complaint_id"] == first["results"][0]["complaint_id"]
    assert answer[1]["status"] == 422 and answer[1]["field"] == "idempotency_key"
    reordered = intake.bulk(list(reversed(plain)), headers).json()["results"]
    assert {result["status"] for result in reordered} == {422}
    assert {result["field"] for result in reordered} == {"Idempotency-Key"}

    # Two lines of one bulk under one key: one request, one answer.
    twice = dict(marked(20), idempotency_key=f"dup-{uuid.uuid4()}")
    results = intake.bulk([twice, twice]).json()["results"]
    assert results[0]["complaint_id"] == results[1]["complaint_id"]
    assert len(intake.received()) == 8


@pytest.mark.parametrize("store_env", ["sqlite"], indirect=True)
def test_a_bulk_that_cannot_be_taken_is_refused_whole_and_nothing_is_stored(intake):
    too_many = intake.bulk([marked(0)] * (bulk.MAX_LINES + 1))
    assert too_many.status_code == 413 and too_many.headers["content-type"].startswith(PROBLEM)
    assert str(bulk.MAX_LINES) in too_many.json()["detail"]
    too_big = intake.post_bulk(b"{}\n" * (bulk.MAX_BYTES // 3 + 1))
    assert too_big.status_code == 413 and too_big.headers["content-type"].startswith(PROBLEM)
    assert too_big.json()["type"].endswith("/too-large")  # as a single request's and a line's
    array = intake.post_bulk(json.dumps([marked(0), marked(1)]).encode())
    assert array.status_code == 400 and "per line" in array.json()["detail"]
    assert intake.post_bulk(b"\n \n").status_code == 400
    anonymous = intake.bulk([marked(0)], token=False)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    intake.token = auth.issue("AMR-310000", "REGULATOR", KEY.encode())
    regulator = intake.bulk([marked(0)])
    assert regulator.status_code == 403 and "REGULATOR" in regulator.json()["detail"]
    assert intake.received() == []

    # One line over what `POST /complaints` takes is refused alone.
    intake.token = auth.issue("AMR-310115", "AGENCY_SYSTEM", KEY.encode())
    huge = dict(marked(1), facts="很" * (api.MAX_BODY // 3 + 1))
    results = intake.bulk([marked(2), huge]).json()["results"]
    assert [result["status"] for result in results] == [202, 413]
    assert results[1]["type"] == too_big.json()["type"]


def test_a_first_line_that_is_an_array_is_that_line_s_problem_alone(intake):
    results = intake.post_bulk(b"[1]\n" + json.dumps(marked(1)).encode()).json()["results"]
    assert [result["status"] for result in results] == [422, 202]
    assert "line 1 is a JSON array" in results[0]["detail"] and not results[0].get("field")
    assert intake.received() == [results[1]["complaint_id"]]


@pytest.mark.parametrize("store_env", ["sqlite"], indirect=True)
def test_concurrent_submissions_are_committed_together_and_each_answered_with_its_own_id(intake):
    """Another connection holds SQLite's write lock, so the first commit waits
    and the rest queue behind it; when the lock goes, the queue is stored in
    one transaction. Each caller still gets the id of what it sent."""
    bodies = [marked(i) for i in range(21)]
    lock = sqlite3.connect(intake.runner.store_dir / "intake.sqlite", isolation_level=None, timeout=10)
    lock.execute("BEGIN EXCLUSIVE")

    async def until(predicate, message):
        await asyncio.get_running_loop().run_in_executor(None, lambda: wait_until(predicate, 30, message=message))

    async def post_all(client):
        posts = [asyncio.create_task(client.post("/complaints", json=bodies[0], headers=request(0)))]
        await until(lambda: intake.committer.in_flight == 1, "the first request's commit waiting for the lock")
        posts += [asyncio.create_task(client.post("/complaints", json=body, headers=request(i)))
                  for i, body in enumerate(bodies[1:], 1)]
        await until(lambda: intake.committer.waiting == len(bodies) - 1, "the rest queued behind it")
        assert not any(post.done() for post in posts)  # nothing acknowledged before it is stored
        lock.execute("ROLLBACK")
        return await asyncio.gather(*posts)

    try:
        responses = intake.call(post_all)
    finally:
        lock.close()
    assert [r.status_code for r in responses] == [202] * len(bodies)
    ids = [r.json()["complaint_id"] for r in responses]
    assert len(set(ids)) == len(bodies)
    assert intake.committer.commits == 2 and intake.committer.committed == len(bodies)
    for i, (body, complaint_id) in enumerate(zip(bodies, ids)):
        assert intake.runner.app.record(complaint_id).record["facts"] == body["facts"]
        # Stored together, each request's events keep the id of the request they came in.
        events = list(intake.runner.app.events.get(Request.create_id(complaint_id)))
        assert {correlation.of_event(e) for e in events} == {request(i)["X-Request-ID"]}
    assert sorted(intake.received()) == sorted(ids)


def request(i: int) -> dict:
    return {"X-Request-ID": f"group-{i:04d}"}


@pytest.mark.parametrize("store_env", ["sqlite"], indirect=True)
def test_a_bulk_that_cannot_be_stored_acknowledges_none_of_it(store_env, monkeypatch):
    """Another process holds SQLite's write lock past intake's busy timeout:
    the transaction fails, and with it every line in it; the bad lines are
    still named for what they are."""
    monkeypatch.setenv("TOUSU_SIGNING_KEY", KEY)
    # eventsourcing reads INTAKE_SQLITE_LOCK_TIMEOUT before the store's own setting.
    monkeypatch.setenv("INTAKE_SQLITE_LOCK_TIMEOUT", "1")
    casework._key.cache_clear()
    intake = Intake(store_env)
    lock = sqlite3.connect(intake.runner.store_dir / "intake.sqlite", isolation_level=None, timeout=10)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        try:
            results = intake.bulk([marked(0), dict(marked(1), channel="FAX"), marked(2)]).json()["results"]
        finally:
            lock.execute("ROLLBACK")
        assert [r["status"] for r in results] == [503, 422, 503]
        assert all("complaint_id" not in r for r in results) and "nothing" in results[0]["detail"]
        assert intake.received() == []
        # The same lines once the store is back: stored.
        assert [r["status"] for r in intake.bulk([marked(0), marked(2)]).json()["results"]] == [202, 202]
    finally:
        lock.close()
        intake.close()
        casework._key.cache_clear()


def test_an_idempotency_key_longer_than_a_line_may_give_is_refused_naming_it(intake):
    key = {"Idempotency-Key": "k" * 8000}
    single = intake.call(lambda client: client.post("/complaints", json=marked(0), headers=key))
    assert single.status_code == 422 and single.json()["field"] == "Idempotency-Key"
    whole = intake.bulk([marked(1)], headers=key)
    assert whole.status_code == 422 and whole.json()["field"] == "Idempotency-Key"
    assert intake.received() == []
