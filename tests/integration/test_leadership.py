"""Which worker leads, on PostgreSQL: one lock holder; a holder that goes
silent (frozen: its connection open, its heartbeat stopped) has its session
ended by a worker wanting the lead, and learns it lost the lead."""
from __future__ import annotations

import time
import uuid

import pytest

from services.bus import leadership
from services.bus.leadership import Leadership
from tests.postgres import postgres_env


@pytest.fixture
def env():
    return {**postgres_env(), "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_SCHEMA": f"lead_{uuid.uuid4().hex[:8]}"}  # the key only: nothing is stored


def test_one_leads_and_a_frozen_leader_is_replaced(env, monkeypatch, caplog):
    monkeypatch.setattr(leadership, "SILENT_SECONDS", 1.0)
    first, second = Leadership("routing", env), Leadership("routing", env)
    try:
        assert first.acquire() and not second.acquire()
        time.sleep(2.5)  # beating: never silent that long
        second._looked_for_silence = float("-inf")
        assert not second.acquire() and first.holds()
        assert first.acquire()  # asked again while leading: still leads, one heartbeat
        # Frozen: its heartbeat stops, its connection stays open.
        first._lead_number += 1
        time.sleep(leadership.STALE_SECONDS + 0.5)  # as any freeze that costs the lead: longer than SILENT_SECONDS
        second._looked_for_silence = float("-inf")
        with caplog.at_level("WARNING", logger="services.bus.leadership"):
            assert not second.acquire()  # ends the silent session; the lock is free at the next try
        assert "had not been heard from" in caplog.text
        deadline = time.monotonic() + 5
        while not second.acquire():
            assert time.monotonic() < deadline, "the lock was not freed"
            time.sleep(0.1)
        # Woken, the old leader knows at once: its heartbeat is long due.
        assert not first.holds()
    finally:
        first.release()
        second.release()


def test_a_leader_whose_connection_is_gone_stops_leading(env):
    holder = Leadership("mediation", env)
    try:
        assert holder.acquire()
        holder._conn.close()  # as when the store or the network goes away
        deadline = time.monotonic() + 5
        while holder.holds():
            assert time.monotonic() < deadline, "still leading without its lock"
            time.sleep(0.1)
    finally:
        holder.release()
