"""Every consuming service killed with SIGKILL in the middle of a stream and
started again: no effect lost, none doubled, checked in each service's store."""
from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from services.enforcement.application import Enforcement
from services.enforcement.domainmodel import PenaltyCase
from services.intake.application import Intake
from services.intake.domainmodel import ComplaintStatus
from services.mediation.application import Mediation
from services.mediation.domainmodel import MediationCase
from tests import factories
from tests.harness import Processes, distinct_events, post_all, wait_until

pytestmark = pytest.mark.slow


def report(i: int) -> dict:
    body = factories.complaint(i)
    body.pop("demands")
    return {**body, "kind": "REPORT", "alleged_violation": "COUNTERFEIT"}


def test_mediation_enforcement_and_intake_killed_midstream_keep_exactly_one_effect(bus, tmp_path):
    data = tmp_path / "data"
    system = Processes(bus.bootstrap_servers, data).start()
    rng = random.Random(11)
    bodies = [report(i) if i % 5 == 0 else factories.varied(i, rng) for i in range(500)]
    killed = []

    async def kill_midway(done: int):
        if done in (150, 300) and len(killed) < 2:
            victim = "mediation" if done == 150 else "enforcement"
            killed.append(victim)
            system.workers[victim].kill()
            system.restart(victim)

    try:
        ids = asyncio.run(post_all(system.url, bodies, on_progress=kill_midway))
        reports = {cid for cid, body in zip(ids, bodies) if body["kind"] == "REPORT"}
        complaints = [cid for cid in ids if cid not in reports]

        def settled():
            decisions = distinct_events(bus.bootstrap_servers, "complaints.decisions")
            mediation = distinct_events(bus.bootstrap_servers, "mediation.events")
            cases = distinct_events(bus.bootstrap_servers, "enforcement.cases")
            return (all(sum(decisions[c].values()) >= 1 for c in complaints)
                    and all(mediation[c]["MediationOpened"] == decisions[c]["ComplaintAccepted"] for c in complaints)
                    and all(cases[r]["PenaltyCaseOpened"] >= 1 for r in reports))
        wait_until(settled, 180, interval=2, message="every complaint decided, mediated, every report a case")
        # Intake's status view killed while it follows three topics.
        system.workers["intake"].kill()
        system.restart("intake")
        system.wait_serving("intake")
        decisions = distinct_events(bus.bootstrap_servers, "complaints.decisions")
        accepted = [c for c in complaints if decisions[c]["ComplaintAccepted"]]
        # Every one of them, not a sample: the store is read once the system stops.
        behind = set(accepted)

        def caught_up():
            behind.difference_update([c for c in list(behind) if system.status(c)["status"] == "IN_MEDIATION"])
            return not behind
        wait_until(caught_up, 120, interval=1, message="every accepted complaint's status IN_MEDIATION")
    finally:
        system.stop()
    assert killed == ["mediation", "enforcement"]

    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite"}
    mediation = Mediation(env={**env, "SQLITE_DBNAME": str(data / "mediation.sqlite")})
    for cid in accepted:
        opened = [e for e in mediation.events.get(MediationCase.create_id(cid)) if type(e).__name__ == "Opened"]
        assert len(opened) == 1, cid
    enforcement = Enforcement(env={**env, "SQLITE_DBNAME": str(data / "enforcement.sqlite")})
    for cid in reports:
        assert enforcement.find(PenaltyCase.create_id("REPORT", cid)) is not None, cid
    report_cases = Counter(type(enforcement.find(n.originator_id)).__name__
                           for n in enforcement.recorder.select_notifications(0, 100_000)
                           if n.topic.endswith("PenaltyCase.Opened") and "REPORT" in n.state.decode())
    assert report_cases["PenaltyCase"] == len(reports)
    intake = Intake(env={**env, "SQLITE_DBNAME": str(data / "intake.sqlite")})
    for cid in accepted:
        kinds = Counter(type(e).__name__ for e in intake.events.get(ComplaintStatus.create_id(cid)))
        assert kinds["Opened"] == 1 and kinds["Decided"] == 1, (cid, kinds)
        assert kinds["Changed"] == 2, (cid, kinds)  # ACCEPTED and IN_MEDIATION, once each
