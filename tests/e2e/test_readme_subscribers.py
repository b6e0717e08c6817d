"""The README's subscriber commands, run as written."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import factories
from tests.harness import Processes, post_all, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def system(module_bus, tmp_path_factory):
    processes = Processes(module_bus.bootstrap_servers, tmp_path_factory.mktemp("subscribers") / "data",
                          services=("intake", "routing")).start()
    yield processes
    processes.stop()


def test_a_consumer_association_reads_the_public_stream_with_the_example_and_resumes(system, module_bus):
    bus = module_bus
    assert "examples/subscribe_public.py" in (ROOT / "README.md").read_text()
    [cid] = asyncio.run(post_all(system.url, [factories.complaint(2)]))
    seen = []

    def run_once():
        result = subprocess.run([sys.executable, "examples/subscribe_public.py", bus.bootstrap_servers, "--once"],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]
    # Each run goes on where the previous one stopped: together they show each update once.
    wait_until(lambda: seen.extend(u for u in run_once() if u["complaint_id"] == cid) or len(seen) >= 2, 60,
               interval=1, message="RECEIVED and ACCEPTED")
    # A relay may send an update twice (subscribers deduplicate by event_id); offsets decide the rest.
    assert list({u["event_id"]: u["status"] for u in seen}.values()) == ["RECEIVED", "ACCEPTED"]
    assert all("consumer" not in u for u in seen)
    assert run_once() == [], "a run after everything was read prints nothing again"


def test_a_regulator_verifies_the_chain_as_the_readme_says(system):
    asyncio.run(post_all(system.url, [factories.complaint(3)]))
    result = wait_until(lambda: (r := system.cli("audit", "verify", "--topic-only", check=False)).returncode == 0
                        and "intake" in r.stdout and r, 30, message="a verified chain")
    assert "audit chain intact" in result.stdout
