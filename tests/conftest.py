"""Fixtures shared by the integration and end-to-end tiers.

The bus is the embedded broker, fresh for each test (it starts in
milliseconds), unless KAFKA_BOOTSTRAP_SERVERS names a broker: then every
registry topic is deleted and created again before each test."""
from __future__ import annotations

import asyncio
import compileall
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

from services.bus.broker import EmbeddedBroker, create_topics
from services.bus.settings import EMBEDDED_SESSION_TIMEOUT_S
from tests.postgres import drop_schemas, postgres_env


class Bus:
    def __init__(self):
        self.external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        self.broker = None if self.external else EmbeddedBroker()

    @property
    def bootstrap_servers(self) -> str:
        return self.external or self.broker.bootstrap_servers

    def start(self) -> "Bus":
        if self.broker:
            self.broker.start()
        else:
            asyncio.run(_delete_topics(self.external))
        asyncio.run(create_topics(self.bootstrap_servers))
        return self

    def wipe(self) -> None:
        """Lose everything the broker held, as the in-memory broker does on restart."""
        if self.broker:
            port = self.broker.port
            self.broker.stop()
            self.broker = EmbeddedBroker(port).start()
        else:
            asyncio.run(_delete_topics(self.external))
        asyncio.run(create_topics(self.bootstrap_servers))

    def replace(self, down_seconds: float = 0.0) -> None:
        """Kill the broker and start an empty one on the same address, creating
        nothing: what the embedded broker is after a restart, or a cluster
        rebuilt from scratch. The services must restore it themselves."""
        if not self.broker:
            pytest.skip("replacing the broker needs the embedded one")
        port = self.broker.port
        self.broker.process.kill()
        self.broker.process.wait()
        time.sleep(down_seconds)
        self.broker = EmbeddedBroker(port).start()

    def stop(self) -> None:
        if self.broker:
            self.broker.stop()


async def _delete_topics(bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics()
                  if not t.startswith("__") and (t.split(".")[0] in {
                      "complaints", "referrals", "mediation", "violations", "enforcement",
                      "audit", "public", "deadletter"} or t.startswith("tousu-"))]
        if doomed:
            await admin.delete_topics(doomed)
            await asyncio.sleep(2)
    finally:
        await admin.close()


@pytest.fixture
def bus():
    bus = Bus().start()
    yield bus
    bus.stop()


@pytest.fixture(scope="module")
def module_bus():
    """One bus for a module whose tests share one running system."""
    bus = Bus().start()
    yield bus
    bus.stop()


def pytest_configure(config):
    if not hasattr(config, "workerinput") and sys.dont_write_bytecode:
        # The suite starts some 150 service processes; with PYTHONDONTWRITEBYTECODE
        # set none may keep its bytecode, so each would compile the services again.
        compileall.compile_dir(Path(__file__).resolve().parents[1] / "services", quiet=2)
    # pytest keeps each test module as rewritten for its assertions only where
    # bytecode may be written: without this every worker rewrites all of them.
    sys.dont_write_bytecode = False
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        # The embedded broker's session, as tousu up asks for it.
        os.environ.setdefault("TOUSU_SESSION_TIMEOUT_S", EMBEDDED_SESSION_TIMEOUT_S)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    # Last: on an interrupted run pytest tears the remaining fixtures down in its
    # own sessionfinish, and what they started must end before their schemas go.
    # A command a failed test left running (tests/launcher.py) would hold this
    # process at exit: multiprocessing waits for every child it started.
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
        child.join(10)
    if _SCHEMA_PREFIXES:
        prefixes = list(_SCHEMA_PREFIXES)
        _SCHEMA_PREFIXES.clear()
        drop_schemas(prefixes)


def pytest_xdist_auto_num_workers(config):
    """`pytest` runs the suite on two more workers than there are cores: an
    end-to-end test spends much of its time waiting on the broker's group
    timers, and other workers' tests fill that time (on 2 cores, 4 workers took
    162-164 s where 3 took 173-183 s, alternating in one sitting). With an
    outside broker, one worker: each test deletes and creates the same topics
    there."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return 0
    return (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1) + 2


_TIERS = ("e2e", "integration", "browser", "unit")


def pytest_collection_modifyitems(items):
    # The modules marked slow first, then the longest tiers: the workers start
    # on what takes longest and the many quick unit tests even out the end (a
    # long module dealt last would run on after the others are done). Every
    # worker must collect the same order, so the sort is stable and depends on
    # paths and markers alone.
    def order(item):
        parts = item.nodeid.split("/")
        tier = _TIERS.index(parts[1]) if len(parts) > 2 and parts[1] in _TIERS else len(_TIERS)
        return item.get_closest_marker("slow") is None, tier
    items.sort(key=order)


PERSISTENCE = ["sqlite", "postgres"]
# The schema prefixes this process gave out, dropped as its session ends.
_SCHEMA_PREFIXES: list[str] = []


def persistence_env(kind: str, data_dir) -> dict[str, str]:
    env = {"TOUSU_DATA_DIR": str(data_dir)}
    if kind == "postgres":
        env.update({
            "PERSISTENCE_MODULE": "eventsourcing.postgres", **postgres_env(),
            # A fresh schema per test keeps runs independent.
            "TOUSU_POSTGRES_SCHEMA_PREFIX": f"t{uuid.uuid4().hex[:10]}_",
        })
        _SCHEMA_PREFIXES.append(env["TOUSU_POSTGRES_SCHEMA_PREFIX"])
    return env


@pytest.fixture(params=PERSISTENCE)
def store_env(request, tmp_path):
    return persistence_env(request.param, tmp_path / "data")
