"""The benchmarks the README's Performance section names run as written, on a
few messages each: a bench that no longer runs measures nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script, args, says", [
    ("bench_consumers.py", ["40", "10"], "mediation cases opened"),
    ("bench_restart.py", ["40"], "chain position at start"),
    ("bench_routing.py", ["40", "10"], "routing on PostgreSQL"),
    ("bench_desk.py", ["40"], "soonest"),
])
def test_a_bench_runs_and_says_what_it_measured(script, args, says):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert says in done.stdout, done.stdout


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("bench_*.py")))
def test_every_bench_explains_itself(script):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--help"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.startswith("usage:"), done.stdout + done.stderr[-2000:]
