"""The broker lost and replaced by an empty one while the services run, under
load: the services notice, create the topics again and restore their history
by themselves; nothing is lost and nothing happens twice."""
from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from tests import factories
import pytest

from tests.conftest import persistence_env
from tests.harness import DECISIONS, Processes, post_all, settled, wait_until

pytestmark = pytest.mark.slow


def event_ids(bootstrap: str, topic: str) -> set[str]:
    codec = default_codec()
    return {codec.decode(m.value)[1]["event_id"] for m in read_all_sync(bootstrap, topic)}


def referrals_in_inboxes(bootstrap: str, decisions_topic: list[tuple[str, dict]]) -> Counter:
    """(complaint, agency) -> distinct ReferralIssued event ids in that agency's inbox."""
    codec = default_codec()
    agencies = {r["to_agency_id"] for t, r in decisions_topic if t == "ComplaintReferred"}
    found = Counter()
    for agency in agencies:
        ids = {}
        for m in read_all_sync(bootstrap, f"referrals.{agency}"):
            _, record = codec.decode(m.value)
            ids.setdefault(record["complaint_id"], set()).add(record["event_id"])
        for complaint_id, events in ids.items():
            found[(complaint_id, agency)] = len(events)
    return found


@pytest.fixture(params=["sqlite", "postgres"])
def system(request, bus, tmp_path):
    processes = Processes(bus.bootstrap_servers, tmp_path / "data",
                          extra_env=persistence_env(request.param, tmp_path / "data")).start()
    yield processes
    processes.stop()


def test_a_replaced_broker_is_restored_by_the_services_with_nothing_lost_or_doubled(system, bus, tmp_path):
    rng = random.Random(13)
    bodies = [factories.varied(i, rng) for i in range(450)]
    before = asyncio.run(post_all(system.url, bodies[:150]))
    wait_until(lambda: settled(bus.bootstrap_servers, before), 120, interval=1, message="the first 150 settled")
    history = {t: event_ids(bus.bootstrap_servers, t)
               for t in ("complaints.received", "complaints.decisions", "mediation.events", "audit.log")}

    # New complaints keep arriving while the broker is replaced: intake answers 202 throughout.
    during: list[str] = []
    poster = threading.Thread(target=lambda: during.extend(
        asyncio.run(post_all(system.url, bodies[150:300], concurrency=4))))
    poster.start()
    bus.replace(down_seconds=1.0)
    poster.join(120)
    assert len(during) == 150
    after = asyncio.run(post_all(system.url, bodies[300:]))
    ids = before + during + after

    decisions, mediation = wait_until(lambda: settled(bus.bootstrap_servers, ids), 180, interval=2,
                                      message="every complaint decided and mediated after the loss")
    for cid in ids:
        assert sum(decisions[cid][t] for t in DECISIONS) == 1, (cid, decisions[cid])
        assert mediation[cid]["MediationOpened"] == decisions[cid]["ComplaintAccepted"], (cid, mediation[cid])
    # Every topic holds its whole history again, by event id, without anyone republishing.
    wait_until(lambda: all(history[t] <= event_ids(bus.bootstrap_servers, t) for t in history), 60, interval=1,
               message="the history back on every topic")
    codec = default_codec()
    decided = [codec.decode(m.value) for m in read_all_sync(bus.bootstrap_servers, "complaints.decisions")]
    referred = {(r["complaint_id"], r["to_agency_id"]) for t, r in decided if t == "ComplaintReferred"}
    assert referred, "the workload refers some complaints to other agencies"
    inboxes = referrals_in_inboxes(bus.bootstrap_servers, decided)
    assert {key: inboxes[key] for key in referred} == {key: 1 for key in referred}

    verify = system.cli("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # Restored messages carry the CloudEvents binding as the first ones did.
    message = read_all_sync(bus.bootstrap_servers, "complaints.decisions")[0]
    assert message.headers["ce_specversion"] == b"1.0" and message.headers["ce_source"] == b"/tousu/routing"
    assert message.headers["ce_id"] == message.headers["event_id"]

    # The operators sign their chains' heads; a regulator proves them with the public key.
    key = tmp_path / "operator.key"
    system.cli("audit", "keygen", "--key", str(key))
    heads = system.cli("audit", "sign", "--key", str(key)).stdout
    assert {"intake", "routing", "mediation"} <= {json.loads(line)["service"] for line in heads.splitlines()}
    (tmp_path / "heads.jsonl").write_text(heads)
    proved = system.cli("audit", "verify", "--checkpoint", str(tmp_path / "heads.jsonl"),
                        "--public-key", f"{key}.pub", check=False)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert proved.stdout.count("is on the chain") == len(heads.splitlines())
    first = json.loads(heads.splitlines()[0])
    (tmp_path / "forged.jsonl").write_text(json.dumps(dict(first, seq=first["seq"] - 1)))
    forged = system.cli("audit", "verify", "--checkpoint", str(tmp_path / "forged.jsonl"),
                        "--public-key", f"{key}.pub", check=False)
    assert forged.returncode == 1 and "signature does not match" in forged.stderr
