"""Group commit: requests waiting together are stored in one transaction, and
what one of them trips fails that one alone."""
from __future__ import annotations

import asyncio
import json

import pytest
from eventsourcing.persistence import OperationalError

from services.intake.groupcommit import GroupCommit


class Store:
    def __init__(self, fails=None):
        self.stored, self.transactions, self.fails = [], 0, fails

    async def run(self, fn, *args):
        await asyncio.sleep(0)
        return fn(*args)

    def submit_many(self, submissions, rids):
        self.transactions += 1
        if self.fails:
            self.fails(submissions)
        self.stored += [record["n"] for _, record, _ in submissions]
        return [{"complaint_id": f"TS-{record['n']}"} for _, record, _ in submissions]


def submit_all(store: Store, numbers: list[int]):
    async def run():
        committer = GroupCommit(store.run, store.submit_many)
        return await asyncio.gather(*(committer.submit("COMPLAINT", {"n": n}) for n in numbers),
                                    return_exceptions=True)
    return asyncio.run(run())


def test_requests_waiting_together_share_one_transaction():
    store = Store()
    assert [a["complaint_id"] for a in submit_all(store, [1, 2, 3])] == ["TS-1", "TS-2", "TS-3"]
    assert store.stored == [1, 2, 3] and store.transactions == 1


def test_what_one_request_trips_fails_that_one_alone():
    def poisoned(submissions):
        if any(record["n"] == 2 for _, record, _ in submissions):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
    store = Store(poisoned)
    first, second, third = submit_all(store, [1, 2, 3])
    assert (first["complaint_id"], third["complaint_id"]) == ("TS-1", "TS-3")
    assert isinstance(second, UnicodeEncodeError) and store.stored == [1, 3]


def test_a_store_that_cannot_be_reached_fails_them_all_once():
    def down(submissions):
        raise OperationalError("could not connect")
    store = Store(down)
    answers = submit_all(store, [1, 2, 3])
    assert all(isinstance(a, OperationalError) for a in answers) and store.transactions == 1


@pytest.mark.parametrize("key", ["\ud800", "", "k" * 1000])
def test_a_bulk_line_whose_key_cannot_be_one_is_that_lines_problem(key):
    from services.intake import bulk
    from tests import factories

    [line] = bulk.read(json.dumps({**factories.complaint(1), "idempotency_key": key}).encode(), None)
    assert line.submission is None and line.result["status"] == 422 and line.result["field"] == "idempotency_key"
