"""The README's commands, copied and pasted in order as a newcomer does: `tousu up`
in one terminal, then every command block of "Using it" and "Case work" in
another, in the same folder."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from services.bus.broker import free_port

ROOT = Path(__file__).resolve().parents[2]


def blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.*?)```", readme[:readme.index("## Subscribing")], re.S)


def test_the_readme_commands_run_in_order_as_written(tmp_path):
    setup, tests, *using = blocks()
    assert setup.strip() == "pip install -e . && tousu up"  # installed already: the test runs `tousu up`
    assert "pytest" in tests  # the test suite itself
    assert len(using) >= 3 and all("pip install" not in b and "tousu up" not in b for b in using)

    port = free_port()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "tousu").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m services.cli "$@"\n')
    (bin_dir / "tousu").chmod(0o755)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "TOUSU_", "POSTGRES_", "PERSISTENCE"))}
    # Only the port differs from the README: 8315 may be taken on a shared machine.
    env.update(PATH=f"{bin_dir}:{env['PATH']}", PYTHONPATH=str(ROOT), HOME=str(tmp_path),
               TOUSU_HTTP_PORT=str(port), TOUSU_TIMER_SECONDS="1")
    up = subprocess.Popen(["tousu", "up"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        banner = []
        while not any("Ctrl-C" in line for line in banner):
            line = up.stdout.readline()
            assert line, "tousu up exited:\n" + "".join(banner)
            banner.append(line)
        # What a reader does between the blocks: wait until the complaint is in mediation.
        wait = 'for _ in $(seq 120); do tousu status $ID | grep -q IN_MEDIATION && break; sleep 0.5; done\n'
        # Between blocks a line of its own, as a terminal shows a new prompt.
        script = ("set -euo pipefail\n" + using[0] + wait
                  + "".join("echo\n" + b.replace("8315", str(port)) for b in using[1:]))
        run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Traceback" not in run.stdout + run.stderr
        # The complaint's id went into $ID; the report's, the consultation's and the telecom one's are printed.
        assert len(re.findall(r"^TS-\d{8}-[0-9A-F]{12}$", run.stdout, re.M)) == 3, run.stdout
        complaint_id = re.search(r"^complaint id +(TS-\S+)", run.stdout, re.M).group(1)
        assert "audit chain intact" in run.stdout
        assert (tmp_path / "figures.csv").read_text().startswith("kind,")
        assert (tmp_path / "figures.png").read_bytes()[:4] == b"\x89PNG"
        # The consent reached the complaint's mediation case (curl --fail-with-body failed otherwise).
        case = json.loads(re.search(r'^\{"complaint_id".*$', run.stdout, re.M).group(0))
        assert case["complaint_id"] == complaint_id and case["agency_id"] == "AMR-330106"
        ready = json.loads(re.search(r'^\{"status": ?"ready".*$', run.stdout, re.M).group(0))
        assert set(ready["services"]) == {"intake", "routing", "mediation", "enforcement", "statistics", "desk"}
        # examples/complaint.json accepted (waited for); the one in examples/batch.ndjson may be too by then.
        assert re.search(r'^tousu_decisions_total\{decision="ACCEPTED"\} [12]\.0$', run.stdout, re.M), run.stdout
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
