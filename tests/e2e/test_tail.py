"""`tousu tail`: any topic decoded to readable lines or JSON lines, personal
data hidden unless asked for."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests import factories, launcher
from tests.harness import Processes, post_all, wait_until


@pytest.fixture(scope="module")
def intake(module_bus, tmp_path_factory):
    """Intake alone, for the module: the first test's complaint is the first
    record on the topic, the second test's come after it."""
    processes = Processes(module_bus.bootstrap_servers, tmp_path_factory.mktemp("tail") / "data",
                          services=("intake",)).start()
    yield processes
    processes.stop()


def test_tail_decodes_a_topic_and_hides_personal_data_unless_asked(intake):
    body = factories.complaint(5)
    [cid] = asyncio.run(post_all(intake.url, [body]))

    def tail(*extra):
        result = intake.cli("tail", "complaints.received", "--from-beginning", *extra)
        return result.stdout.strip().splitlines()
    lines = wait_until(lambda: tail("--json"), 30, message="the complaint on the topic")
    [line] = [json.loads(text) for text in lines]
    assert line["type"] == "ComplaintReceived" and line["record"]["complaint_id"] == cid
    assert line["record"]["consumer"] == "***" and line["record"]["facts"] == "***"
    assert line["record"]["respondent"]["name"] == body["respondent"]["name"]
    shown = json.loads(tail("--json", "--show-personal-data")[0])
    assert shown["record"]["consumer"]["phone"] == body["consumer"]["phone"]
    [readable] = tail()
    assert readable.startswith(f"{line['partition']}:{line['offset']} ComplaintReceived")
    assert body["consumer"]["name"] not in readable


def test_tail_without_flags_shows_the_last_records_and_refuses_unknown_topics(intake, module_bus):
    bus = module_bus
    from aiokafka.admin import AIOKafkaAdminClient

    ids = asyncio.run(post_all(intake.url, [factories.complaint(n) for n in range(12)], concurrency=1))

    def shown(*extra):
        return intake.cli("tail", "complaints.received", "--json", *extra).stdout.strip().splitlines()
    # A relay may publish an event twice (harmless to subscribers): count ids, not lines.
    wait_until(lambda: set(ids) <= {json.loads(line)["record"]["complaint_id"] for line in shown("--from-beginning")},
               30, message="twelve complaints on the topic")
    default = [json.loads(line)["record"]["complaint_id"] for line in shown()]
    assert len(default) == 10 and set(default) <= set(ids)
    [last] = [json.loads(line)["record"]["complaint_id"] for line in shown("-n", "1")]
    assert last in ids

    for topic in ("complaints.recieved", "referrals.XX-000000"):
        refused = intake.cli("tail", topic, check=False)
        assert refused.returncode != 0 and not refused.stdout
        assert refused.stderr.count("\n") == 1 and topic in refused.stderr, refused.stderr
    # An agency nothing was referred to yet: an inbox with no records, not an error.
    empty = intake.cli("tail", "referrals.CA-310000", "--from-beginning")
    assert not empty.stdout and "no records yet" in empty.stderr

    async def topics():
        admin = AIOKafkaAdminClient(bootstrap_servers=bus.bootstrap_servers)
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()
    assert not {"referrals.XX-000000", "referrals.CA-310000"} & asyncio.run(topics()), \
        "tail created a topic it was asked about"


def test_tail_with_no_lines_and_follow_shows_only_what_comes_next(intake, tmp_path):
    before = asyncio.run(post_all(intake.url, [factories.complaint(40)]))
    wait_until(lambda: before[0] in intake.cli("tail", "complaints.received", "--json", "-n", "1").stdout, 30,
               message="the first complaint on the topic")
    log = tmp_path / "follow.log"
    following = launcher.start(["tail", "complaints.received", "-n", "0", "--follow", "--json"], intake.env, log)
    try:
        time.sleep(3)  # at the topic's end, with nothing shown
        assert not log.exists() or before[0] not in log.read_text()
        [after] = asyncio.run(post_all(intake.url, [factories.complaint(41)]))
        shown = wait_until(lambda: [json.loads(line)["record"]["complaint_id"]
                                    for line in (log.read_text() if log.exists() else "").splitlines()
                                    if line.startswith("{")], 30, message="the new complaint followed")
        assert shown == [after]
    finally:
        following.kill()
        following.wait()
