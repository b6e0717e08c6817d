"""Two workers of routing and of mediation share their PostgreSQL stores and
split their partitions; the one that leads publishes and runs the timers. One of
each is killed mid-stream: the other carries on, nothing lost or doubled, and
the audit chain stays one chain."""
from __future__ import annotations

import asyncio
import random
import signal

import pytest

from tests import factories
from tests.conftest import persistence_env
from tests.harness import DECISIONS, Processes, post_all, settled, wait_until

pytestmark = pytest.mark.slow

LEADS = "this worker leads"


@pytest.fixture
def system(bus, tmp_path):
    env = persistence_env("postgres", tmp_path / "data")
    processes = Processes(bus.bootstrap_servers, tmp_path / "data", extra_env=env,
                          second_workers=("routing", "mediation")).start()
    yield processes
    processes.stop()


def leader(system, service: str) -> str:
    logs = {name: system.workers[name].log_path.read_text(errors="replace") for name in (service, f"{service}-2")}
    leading = [name for name, text in logs.items() if LEADS in text]
    return leading[0] if len(leading) == 1 else ""


def test_a_killed_worker_hands_over_its_partitions_and_its_lead(system, bus):
    rng = random.Random(14)
    bodies = [factories.varied(i, rng) for i in range(450)]
    routing_leader = wait_until(lambda: leader(system, "routing"), 60, message="one routing worker leads")
    mediation_worker = wait_until(lambda: leader(system, "mediation"), 60, message="one mediation worker leads")
    killed = []

    async def kill_midway(done: int):
        if done == 150 and not killed:
            killed.append(routing_leader)
            system.workers[routing_leader].kill()
        if done == 300 and len(killed) == 1:
            killed.append(mediation_worker)
            system.workers[mediation_worker].kill()

    ids = asyncio.run(post_all(system.url, bodies, on_progress=kill_midway))
    assert len(killed) == 2
    decisions, mediation = wait_until(lambda: settled(bus.bootstrap_servers, ids), 240, interval=2,
                                      message="every complaint decided and mediated")
    for cid in ids:
        assert sum(decisions[cid][t] for t in DECISIONS) == 1, (cid, decisions[cid])
        assert mediation[cid]["MediationOpened"] == decisions[cid]["ComplaintAccepted"], (cid, mediation[cid])
    # The survivors took the lead over.
    for service, dead in (("routing", routing_leader), ("mediation", mediation_worker)):
        survivor = f"{service}-2" if dead == service else service
        assert LEADS in system.workers[survivor].log_path.read_text(errors="replace"), survivor
    verify = system.cli("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_frozen_leader_loses_its_lead_and_its_partitions(system, bus):
    """A leader stopped (SIGSTOP) keeps its store connection, and so its lock:
    the other worker ends its session and leads; woken, the old leader
    follows, and nothing is lost or doubled."""
    rng = random.Random(41)
    frozen = wait_until(lambda: leader(system, "routing"), 60, message="one routing worker leads")
    other = "routing-2" if frozen == "routing" else "routing"
    process = system.workers[frozen].process
    process.send_signal(signal.SIGSTOP)
    try:
        ids = asyncio.run(post_all(system.url, [factories.varied(i, rng) for i in range(60)]))
        decisions, _ = wait_until(lambda: settled(bus.bootstrap_servers, ids), 120, interval=2,
                                  message="complaints decided while the leader is frozen")
        taken = system.workers[other].log_path.read_text(errors="replace")
        assert "had not been heard from" in taken and LEADS in taken, taken[-3000:]
    finally:
        process.send_signal(signal.SIGCONT)
    wait_until(lambda: "lost the lead" in system.workers[frozen].log_path.read_text(errors="replace"), 30,
               message="the woken worker knows it no longer leads")
    more = asyncio.run(post_all(system.url, [factories.varied(i, rng) for i in range(60, 120)]))
    decisions, mediation = wait_until(lambda: settled(bus.bootstrap_servers, ids + more), 120, interval=2,
                                      message="complaints decided after the old leader woke")
    for cid in ids + more:
        assert sum(decisions[cid][t] for t in DECISIONS) == 1, (cid, decisions[cid])
        assert mediation[cid]["MediationOpened"] == decisions[cid]["ComplaintAccepted"], (cid, mediation[cid])
    verify = system.cli("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
