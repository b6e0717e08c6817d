"""The statistics service on the real broker, against SQLite and PostgreSQL:
a workload of hundreds of varied requests produced straight onto the four
topics, the figures computed here independently from what was generated, and
the service's figures equal to them exactly: live, after redelivery of every
message, after a SIGKILL mid-stream, and after a rebuild from the topics."""
from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer
from eventsourcing.utils import get_topic
import pytest

from services.bus.codec import default_codec
from services.bus.relay import RELAY_TRACKING
from services.bus.runtime import ServiceRunner
from services.bus.settings import bus_settings, store_settings
from services.statistics.spec import SPEC
from services.statistics.application import Statistics
from services.statistics.domainmodel import RequestFacts
from services.statistics.report import MEASURES, Query
from services import launch
from tests import launcher
from tests.examples import EXAMPLES
from tests.factories import make_uscc

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")
# County bureau -> (city, province), written out by hand: municipalities and a
# province-administered county sit directly under their province.
AGENCIES = {
    "AMR-310115": ("310000", "310000"), "AMR-310104": ("310000", "310000"), "AMR-110108": ("110000", "110000"),
    "AMR-500103": ("500000", "500000"), "AMR-440106": ("440100", "440000"), "AMR-440104": ("440100", "440000"),
    "AMR-440303": ("440300", "440000"), "AMR-330106": ("330100", "330000"), "AMR-510107": ("510100", "510000"),
    "AMR-429004": ("420000", "420000"),
}
CHANNELS = ["HOTLINE_12315", "WEB", "APP", "LETTER", "VISIT", "SMS", "TRANSFER"]
MARKET = ["GOODS_QUALITY", "SERVICE_CONTRACT", "FOOD", "PRICE", "ADVERTISING", "OTHER_MARKET"]
REFERRALS = {"TELECOM": "CA-310000", "FINANCE": "NFRA-440000", "ENVIRONMENT": "EEB-440106",
             "MEDICAL": "HC-330106", "POSTAL": "POST-510000"}
REASONS = ["OUT_OF_REMIT", "SHELF_LIFE_EXPIRED", "ALREADY_MEDIATED", "OTHER_MEDIATOR", "COURT_ARBITRATION_OR_AGENCY",
           "OVER_ONE_YEAR", "UNPROVABLE", "NOT_CONSUMPTION", "NO_CLEAR_RESPONDENT", "NO_SPECIFIC_REQUEST", "NO_FACTS",
           "OTHER_UNLAWFUL"]
ENDINGS = ["WITHDRAWN", "PARTY_REFUSED", "PARTY_ABSENT", "LITIGATION_OR_ARBITRATION", "SELF_SETTLED",
           "TIME_LIMIT_EXCEEDED", "TIME_LIMIT_EXCEEDED", "OTHER"]
SOURCES = {"complaints.received": "intake", "complaints.decisions": "routing", "mediation.events": "mediation",
           "enforcement.cases": "enforcement"}
START = datetime(2025, 11, 1, tzinfo=timezone.utc)


@dataclass
class Truth:
    """What happened to one request, as the generator decided it."""
    cid: str
    kind: str
    channel: str
    received_at: datetime
    subject_area: str | None
    agency: str
    status: str = "RECEIVED"
    decision: str | None = None
    reason: str | None = None
    referral_target: str | None = None
    late: bool = False
    mediated: bool = False
    agreed: bool = False
    terminated: bool = False
    time_limit: bool = False
    amount: int = 0
    penalty: bool = False


class Workload:
    def __init__(self, size: int, seed: int):
        self.rng = random.Random(seed)
        self.events: list[tuple[str, str, str, dict]] = []  # topic, key, record type, record
        self.truths = [self._request(i) for i in range(size)]
        self._penalty_cases()

    def emit(self, topic, key, record_type, at, **fields):
        record = {**EXAMPLES[record_type], "event_id": f"{record_type}-{key}-{len(self.events)}",
                  "occurred_at": at, **fields}
        self.events.append((topic, key, record_type, record))

    def _request(self, i: int) -> Truth:
        rng = self.rng
        cid = f"TS-ST-{i:05d}"
        at = START + timedelta(seconds=rng.randrange(150 * 86400), milliseconds=rng.randrange(1000))
        if i % 40 == 0:  # on either side of midnight in China
            at = at.replace(hour=16, minute=0, second=0, microsecond=0) - timedelta(milliseconds=i % 80 // 40)
        kind = rng.choices(["COMPLAINT", "REPORT", "CONSULTATION"], [70, 15, 15])[0]
        channel, receiving = rng.choice(CHANNELS), rng.choice(list(AGENCIES))
        area = rng.choice(MARKET + list(REFERRALS)[:2]) if kind != "CONSULTATION" else None
        seed = rng.randrange(60)
        operator = {"name": f"某某电器有限公司{seed}", "uscc": make_uscc(seed) if seed % 6 else None}
        truth = Truth(cid, kind, channel, at, area, receiving)
        if kind == "CONSULTATION":
            self.emit("complaints.received", cid, "ConsultationReceived", at, complaint_id=cid, channel=channel,
                      receiving_agency_id=receiving)
            truth.status = "CLOSED"
            return truth
        record_type = "ComplaintReceived" if kind == "COMPLAINT" else "ReportReceived"
        self.emit("complaints.received", cid, record_type, at, complaint_id=cid, channel=channel,
                  receiving_agency_id=receiving, subject_area=area,
                  respondent={**EXAMPLES[record_type]["respondent"], **operator})
        if kind == "REPORT":
            if rng.random() < 0.75:
                truth.agency, truth.penalty = rng.choice(list(AGENCIES)), True
                case = f"PC-R{i:05d}"
                self.emit("enforcement.cases", case, "PenaltyCaseOpened", at + timedelta(days=1), complaint_id=cid,
                          case_id=case, origin="REPORT", complaint_ids=[cid], respondent=operator,
                          agency_id=truth.agency)
            return truth
        self._decide(truth, operator)
        return truth

    def _decide(self, truth: Truth, operator: dict) -> None:
        rng, cid, at = self.rng, truth.cid, truth.received_at
        due = at + timedelta(days=9)
        if rng.random() < 0.06:
            to = rng.choice([a for a in AGENCIES if a != truth.agency])
            self.emit("complaints.decisions", cid, "ComplaintTransferred", at + timedelta(hours=1), complaint_id=cid,
                      from_agency_id=truth.agency, to_agency_id=to, reason="OPERATOR_LOCATION", decided_at=at)
            truth.agency, truth.status = to, "TRANSFERRED"
        late = rng.random() < 0.2
        decided = due + timedelta(hours=rng.randrange(1, 72)) if late else at + timedelta(hours=rng.randrange(1, 150))
        if late or rng.random() < 0.03:
            self.emit("complaints.decisions", cid, "DecisionOverdue", due, complaint_id=cid, agency_id=truth.agency,
                      decision_due=due)
        roll = rng.random()
        if roll < 0.10:
            return
        truth.late = late
        if truth.subject_area in REFERRALS:
            target = REFERRALS[truth.subject_area]
            self.emit("complaints.decisions", cid, "ComplaintReferred", decided, complaint_id=cid, to_agency_id=target,
                      subject_area=truth.subject_area, decided_at=decided, from_agency_id=truth.agency)
            truth.status = truth.decision = "REFERRED"
            truth.referral_target = target
            if rng.random() > 0.3:
                return
            # Declined by the agency; routing decides again, and accepts.
            decided, truth.referral_target = decided + timedelta(days=2), None
        elif roll < 0.30:
            reason = rng.choice(REASONS)
            self.emit("complaints.decisions", cid, "ComplaintRejected", decided, complaint_id=cid,
                      agency_id=truth.agency, reason=reason, decided_at=decided, decision_due=due)
            truth.status, truth.decision, truth.reason = "REJECTED", "REJECTED", reason
            return
        self.emit("complaints.decisions", cid, "ComplaintAccepted", decided, complaint_id=cid, agency_id=truth.agency,
                  decided_at=decided, decision_due=due, respondent=operator, subject_area=truth.subject_area,
                  city_adcode=None, received_at=at)
        truth.status = truth.decision = "ACCEPTED"
        if rng.random() < 0.2:
            return
        opened = decided + timedelta(hours=2)
        self.emit("mediation.events", cid, "MediationOpened", opened, complaint_id=cid, agency_id=truth.agency,
                  accepted_at=decided, mediation_due=opened + timedelta(days=60))
        self.emit("mediation.events", cid, "ConsentRecorded", opened + timedelta(hours=1), complaint_id=cid)
        truth.mediated, truth.status = True, "IN_MEDIATION"
        roll = rng.random()
        if roll < 0.45:
            amount = rng.randrange(0, 500_000)
            self.emit("mediation.events", cid, "MediationAgreed", opened + timedelta(days=rng.randrange(1, 50)),
                      complaint_id=cid, amount_recovered_fen=amount)
            truth.agreed, truth.amount, truth.status = True, amount, "AGREED"
        elif roll < 0.8:
            ending = rng.choice(ENDINGS)
            # Withdrawn before mediation opened (closed), during it (terminated), or recorded before
            # the two were told apart (closed).
            before_opening = rng.choice([True, False, None]) if ending == "WITHDRAWN" else False
            self.emit("mediation.events", cid, "MediationTerminated", opened + timedelta(days=rng.randrange(1, 61)),
                      complaint_id=cid, reason=ending, before_opening=before_opening)
            truth.terminated, truth.time_limit = True, ending == "TIME_LIMIT_EXCEEDED"
            truth.status = "CLOSED" if ending == "WITHDRAWN" and before_opening is not False else "TERMINATED"

    def _penalty_cases(self) -> None:
        """Complaint to case: groups of decided complaints become one case, one
        of them linked to it afterwards."""
        decided = [t for t in self.truths if t.kind == "COMPLAINT" and t.decision and self.rng.random() < 0.12]
        for n in range(0, len(decided) - 2, 3):
            group, case = decided[n:n + 3], f"PC-P{n:05d}"
            at = max(t.received_at for t in group) + timedelta(days=20)
            self.emit("enforcement.cases", case, "PenaltyCaseOpened", at, complaint_id=group[0].cid, case_id=case,
                      origin="PATTERN", complaint_ids=[group[0].cid, group[1].cid], agency_id=group[0].agency)
            self.emit("enforcement.cases", case, "PenaltyCaseComplaintLinked", at + timedelta(days=1),
                      complaint_id=group[2].cid, case_id=case, complaint_ids=[group[2].cid])
            for truth in group:
                truth.penalty = True

    def messages(self) -> list[tuple[str, bytes, bytes, list]]:
        """Encoded, with headers; the topics in reverse causal order, so facts
        about a request mostly arrive before its receipt."""
        codec, positions, out = default_codec(), Counter(), []
        for topic in ("enforcement.cases", "mediation.events", "complaints.decisions", "complaints.received"):
            source = SOURCES[topic]
            for _, key, record_type, record in sorted((e for e in self.events if e[0] == topic),
                                                      key=lambda e: e[3]["occurred_at"]):
                positions[source] += 1
                headers = [("event_id", record["event_id"].encode()), ("event_type", record_type.encode()),
                           ("source", source.encode()), ("position", str(positions[source]).encode())]
                out.append((topic, key.encode(), codec.encode(record_type, record), headers))
        return out


def dimension(t: Truth, name: str):
    local = t.received_at.astimezone(SHANGHAI)
    return {"kind": t.kind, "channel": t.channel, "status": t.status, "agency": t.agency,
            "city": AGENCIES[t.agency][0], "province": AGENCIES[t.agency][1], "subject_area": t.subject_area,
            "reason": t.reason, "referral_target": t.referral_target, "day": f"{local:%Y-%m-%d}",
            "month": f"{local:%Y-%m}", "year": f"{local:%Y}"}[name]


def expected(truths, by: tuple[str, ...], admit) -> dict:
    groups: dict[tuple, Counter] = defaultdict(Counter)
    for t in filter(admit, truths):
        c = groups[tuple(dimension(t, d) for d in by)]
        c.update(requests=1, consumers=1, accepted=t.decision == "ACCEPTED", rejected=t.decision == "REJECTED",
                 referred=t.decision == "REFERRED", decided_late=t.late, mediations=t.mediated, agreed=t.agreed,
                 terminated=t.terminated, time_limit_exceeded=t.time_limit, amount_recovered_fen=t.amount,
                 penalty_cases=t.penalty)
    return {key: {m: int(c[m]) for m in MEASURES} for key, c in groups.items()}


def cst_day(t: Truth):
    return t.received_at.astimezone(SHANGHAI).date().isoformat()


QUERIES = [({"by": name}, lambda t: True) for name in
           ("kind", "channel", "status", "agency", "city", "province", "subject_area", "reason", "referral_target",
            "day", "month", "year")] + [
    ({"by": "kind,month"}, lambda t: True),
    ({"by": "day", "start": "2026-01-01", "end": "2026-01-31"}, lambda t: "2026-01-01" <= cst_day(t) <= "2026-01-31"),
    ({"by": "agency", "agency": "AMR-440100"}, lambda t: t.agency in ("AMR-440106", "AMR-440104")),
    ({"by": "status", "agency": "AMR-310000"}, lambda t: t.agency.startswith("AMR-31")),
    ({"by": "city", "area": "440000"}, lambda t: t.agency.startswith("AMR-44")),
    ({"by": "kind,reason", "start": "2025-12-15", "agency": "AMR-440000"},
     lambda t: cst_day(t) >= "2025-12-15" and t.agency.startswith("AMR-44")),
]


def as_table(report: dict) -> dict:
    by = report["query"]["by"]
    return {tuple(g[d] for d in by): {m: g[m] for m in MEASURES} for g in report["groups"]}


def assert_exact(report_of, truths) -> None:
    for params, admit in QUERIES:
        query = Query.parse(**params)
        report = report_of(query)
        assert as_table(report) == expected(truths, query.by, admit), params
        assert report["total"] == expected(truths, (), admit).get((), {m: 0 for m in MEASURES}), params


async def produce(bootstrap: str, messages) -> dict[str, int]:
    """Sends in order; returns the highest position per tracking name."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=False)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key, headers=headers) for topic, key, value, headers in messages]
        metadata = await asyncio.gather(*sent)
    finally:
        await producer.stop()
    tracked: dict[str, int] = {}
    for (topic, _, _, headers), meta in zip(messages, metadata):
        name = f"{dict(headers)['source'].decode()}/{topic}/{meta.partition}"
        tracked[name] = max(tracked.get(name, 0), int(dict(headers)["position"]))
    return tracked


def caught_up(app: Statistics, tracked: dict[str, int]) -> bool:
    return all((app.process_recorder.max_tracking_id(name) or 0) >= position for name, position in tracked.items())


def stored_facts(app: Statistics) -> int:
    return len(app.recorder.select_notifications(0, 1_000_000, topics=[get_topic(RequestFacts.Noted)],
                                                 inclusive_of_start=False))


def distinct_facts(workload: Workload) -> int:
    from services.statistics.facts import facts_of
    return len({(cid, r["event_id"]) for _, _, t, r in workload.events for cid, _ in facts_of(t, r)})


async def until(predicate, timeout=60.0, message="condition", interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


def stats_args(**overrides) -> argparse.Namespace:
    return argparse.Namespace(**{"start": None, "end": None, "agency": None, "area": None, "by": "kind",
                                 "json": False, "csv": False, "chart": None, "rebuild": False, **overrides})


def test_figures_are_exact_live_after_redelivery_and_after_a_rebuild(bus, store_env, monkeypatch, capsys, tmp_path):
    workload = Workload(300, seed=7)
    messages = workload.messages()
    env = {**os.environ, **store_env}

    async def scenario():
        runner = ServiceRunner(SPEC, bus_settings(bus.bootstrap_servers), store_settings(env))
        await runner.start()
        try:
            tracked = await produce(bus.bootstrap_servers, messages)
            await until(lambda: caught_up(runner.app, tracked), 60, "every message tracked")
            assert_exact(lambda q: runner.app.report(q).to_dict(), workload.truths)
            facts = stored_facts(runner.app)
            assert facts == distinct_facts(workload)
            # Every message again, byte for byte: a producer retry, a relay republishing.
            await produce(bus.bootstrap_servers, messages)
            await until(lambda: runner.processed.skipped >= len(messages), 60, "every redelivery skipped")
            assert stored_facts(runner.app) == facts
            assert_exact(lambda q: runner.app.report(q).to_dict(), workload.truths)
        finally:
            await runner.stop()

    asyncio.run(scenario())
    for key, value in store_env.items():
        monkeypatch.setenv(key, value)

    from services.statistics.cli import cmd_stats
    assert cmd_stats(stats_args(json=True, by="kind,month")) == 0
    document = json.loads(capsys.readouterr().out)
    assert as_table(document) == expected(workload.truths, ("kind", "month"), lambda t: True)
    assert cmd_stats(stats_args(csv=True, by="province,status", chart=str(tmp_path / "stats.png"))) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {(r["province"], r["status"]): int(r["requests"]) for r in rows} == {
        key: c["requests"] for key, c in expected(workload.truths, ("province", "status"), lambda t: True).items()}
    png = (tmp_path / "stats.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image
    assert matplotlib.image.imread(tmp_path / "stats.png").shape[0] > 400

    # tousu stats --rebuild: the store wiped and refilled from the topics, which now hold every message twice.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bus.bootstrap_servers)
    assert cmd_stats(stats_args(rebuild=True, json=True, by="status")) == 0
    out = capsys.readouterr()
    assert f"rebuilt from {2 * len(messages)} messages" in out.err and "complaints.received" in out.err
    assert as_table(json.loads(out.out)) == expected(workload.truths, ("status",), lambda t: True)
    app = Statistics(env=store_settings(env).for_service("statistics"))
    try:
        assert app.process_recorder.max_tracking_id(RELAY_TRACKING) is None, "the old store is still in place"
        assert not list(Path(store_env["TOUSU_DATA_DIR"]).glob("*.rebuilding*"))
        assert stored_facts(app) == distinct_facts(workload)
        assert_exact(lambda q: app.report(q).to_dict(), workload.truths)
        _check_http(app, workload, monkeypatch)
    finally:
        app.close()


def _check_http(app: Statistics, workload: Workload, monkeypatch) -> None:
    import httpx

    from services import auth, casework
    from services.http import build_app
    from services.statistics.api import router

    monkeypatch.setenv("TOUSU_SIGNING_KEY", "statistics-test-signing-key-32-bytes!")
    casework._key.cache_clear()
    http = build_app({})
    http.include_router(router(argparse.Namespace(app=app)))
    token = auth.issue("AMR-440000", "REGULATOR", auth.signing_key())
    headers = {"Authorization": f"Bearer {token}"}

    async def calls():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(http), base_url="http://tousu") as client:
            anonymous = await client.get("/statistics")
            answer = await client.get("/statistics", headers=headers, params={
                "by": "city,kind", "agency": "AMR-440000", "from": "2025-12-01"})
            refused = await client.get("/statistics", params={"by": "colour"}, headers=headers)
            agency_system = await client.get("/statistics", headers={
                "Authorization": f"Bearer {auth.issue('CA-440000', 'AGENCY_SYSTEM', auth.signing_key())}"})
            return anonymous, answer, refused, agency_system

    try:
        anonymous, answer, refused, agency_system = asyncio.run(calls())
    finally:
        casework._key.cache_clear()
    assert anonymous.status_code == 401
    assert answer.status_code == 200
    assert as_table(answer.json()) == expected(
        workload.truths, ("city", "kind"), lambda t: t.agency.startswith("AMR-44") and cst_day(t) >= "2025-12-01")
    assert refused.status_code == 422 and refused.json()["field"] == "by"
    assert agency_system.status_code == 403  # it answers referrals, nothing else


def _worker(env: dict, log: Path) -> launch.Command:
    return launcher.start(["worker", "statistics"], env, log)


def test_statistics_killed_midstream_and_restarted_stay_exact(bus, store_env, tmp_path):
    workload = Workload(600, seed=23)
    messages = workload.messages()
    env = {**os.environ, **store_env, "KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers}
    log = tmp_path / "statistics.log"
    half = len(messages) * 2 // 3
    app = Statistics(env=store_settings(env).for_service("statistics"))
    worker = None
    try:
        first = asyncio.run(produce(bus.bootstrap_servers, messages[:half]))
        worker = _worker(env, log)
        asyncio.run(until(lambda: stored_facts(app) > 0 or worker.poll() is not None, 60, "a first batch stored",
                          interval=0.02))
        assert worker.poll() is None, log.read_text()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert not caught_up(app, first), "killed after the first wave was done: not mid-stream"
        second = asyncio.run(produce(bus.bootstrap_servers, messages[half:]))
        worker = _worker(env, log)
        tracked = {name: max(first.get(name, 0), second.get(name, 0)) for name in {*first, *second}}
        asyncio.run(until(lambda: caught_up(app, tracked), 60, "every message tracked after the restart"))
        assert stored_facts(app) == distinct_facts(workload)
        assert_exact(lambda q: app.report(q).to_dict(), workload.truths)
    finally:
        if worker and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        app.close()
