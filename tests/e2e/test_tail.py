"""`tousu tail`: any topic decoded to readable lines or JSON lines, personal
data hidden unless asked for."""
from __future__ import annotations

import asyncio
import json

import pytest

from tests import factories
from tests.harness import Processes, post_all, wait_until


@pytest.fixture
def intake(bus, tmp_path):
    processes = Processes(bus.bootstrap_servers, tmp_path / "data", services=("intake",)).start()
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
